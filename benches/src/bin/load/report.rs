//! What the load run prints and writes: the table (medians over rounds,
//! with the p99 spread), the ratio lines, docs/benchmarks.md's section and
//! its chart.

use std::collections::BTreeMap;

use crate::peers::{root, Peer};
use crate::wrk::Scenario;
use crate::{Opts, Sample};

/// Samples per (scenario, server), one per round.
pub type Samples = BTreeMap<(String, &'static str), Vec<Sample>>;

pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    if v.is_empty() {
        f64::NAN
    } else {
        v[v.len() / 2]
    }
}

fn med(samples: &Samples, sc: &str, peer: &str, f: fn(&Sample) -> f64) -> Option<f64> {
    let v = samples.iter().find(|(k, _)| k.0 == sc && k.1 == peer)?.1;
    Some(median(v.iter().map(f).collect()))
}

fn get<'a>(samples: &'a Samples, sc: &str, peer: &str) -> Option<&'a Vec<Sample>> {
    samples
        .iter()
        .find(|(k, _)| k.0 == sc && k.1 == peer)
        .map(|(_, v)| v)
}

/// The markdown table: medians over rounds; p99's lowest and highest round
/// beside its median; sleeps per request (`≥` where threads exited during
/// a run and took their counts with them).
pub fn table(samples: &Samples, scenarios: &[Scenario], peers: &[Peer]) -> String {
    let mut t = String::from(
        "| scenario | server | req/s | p50 µs | p99 µs | p99 range µs | CPU µs/req | of which sys | sleeps/req | errors | non-2xx |\n\
         |---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for sc in scenarios {
        for p in peers {
            let Some(v) = get(samples, &sc.name, p.name) else {
                continue;
            };
            let m = |f: fn(&Sample) -> f64| median(v.iter().map(f).collect());
            let p99 = v.iter().map(|s| s.wrk.p99_us);
            let lo = p99.clone().fold(f64::INFINITY, f64::min);
            let hi = p99.fold(0.0, f64::max);
            let partial = if v.iter().any(|s| s.sleeps_partial) {
                "≥ "
            } else {
                ""
            };
            t.push_str(&format!(
                "| {} | {} | {:.0} | {:.0} | {:.0} | {lo:.0}–{hi:.0} | {:.2} | {:.2} | {partial}{:.3} | {} | {} |\n",
                sc.name,
                p.name,
                m(|s| s.wrk.rps),
                m(|s| s.wrk.p50_us),
                m(|s| s.wrk.p99_us),
                m(|s| s.cpu_us_per_req),
                m(|s| s.sys_us_per_req),
                m(|s| s.sleeps_per_req),
                v.iter().map(|s| s.wrk.errors).sum::<u64>(),
                v.iter().map(|s| s.wrk.non2xx).sum::<u64>(),
            ));
        }
    }
    t
}

/// `ratio <scenario> <metric> <ours>/<peer> = x` lines (ratios of the
/// medians). Each p99 line is followed by the same ratio taken round by
/// round (the two runs of a round are minutes apart at most, so noise that
/// lasts a round hits both): its median and its lowest and highest, so
/// noise can be told from a difference. Then, per scenario, what the spin
/// changes: `http-demo-spin/http-demo` for p50, sleeps and CPU, the same
/// way.
pub fn ratios(samples: &Samples, scenarios: &[Scenario], peers: &[Peer]) -> String {
    let mut out = String::new();
    for sc in scenarios {
        for p in peers
            .iter()
            .filter(|p| p.name != "http-demo" && p.name != "http-demo-spin")
        {
            // The Python-handler server is compared with Python's own server.
            let ours: &[&str] = match p.name {
                "python" => &["http-demo", "http-demo-spin", "http-demo-py"],
                "http-demo-py" => &[],
                _ => &["http-demo", "http-demo-spin"],
            };
            for &us in ours {
                for (metric, f) in [
                    ("rps", (|s: &Sample| s.wrk.rps) as fn(&Sample) -> f64),
                    ("cpu_per_req", |s: &Sample| s.cpu_us_per_req),
                    ("p99", |s: &Sample| s.wrk.p99_us),
                ] {
                    out.push_str(&ratio_line(
                        samples,
                        &sc.name,
                        metric,
                        f,
                        us,
                        p.name,
                        metric == "p99",
                    ));
                }
            }
        }
        for (metric, f) in [
            ("p50", (|s: &Sample| s.wrk.p50_us) as fn(&Sample) -> f64),
            ("sleeps_per_req", |s: &Sample| s.sleeps_per_req),
            ("cpu_per_req", |s: &Sample| s.cpu_us_per_req),
        ] {
            out.push_str(&ratio_line(
                samples,
                &sc.name,
                metric,
                f,
                "http-demo-spin",
                "http-demo",
                true,
            ));
        }
    }
    out
}

/// One `ratio` line of `metric` (`f` of each sample), `us` over `peer` in
/// scenario `sc`, with the per-round ratios' median and range if `rounds`;
/// empty if either was not measured.
fn ratio_line(
    samples: &Samples,
    sc: &str,
    metric: &str,
    f: fn(&Sample) -> f64,
    us: &str,
    peer: &str,
    rounds: bool,
) -> String {
    let (Some(xs), Some(ys)) = (get(samples, sc, us), get(samples, sc, peer)) else {
        return String::new();
    };
    let a = median(xs.iter().map(f).collect());
    let b = median(ys.iter().map(f).collect());
    if b.is_nan() || b <= 0.0 || !a.is_finite() {
        // CPU time below /proc's 10 ms resolution (a short run).
        return format!("ratio {sc} {metric} {us}/{peer}: not measurable in this run\n");
    }
    let mut line = format!("ratio {sc} {metric} {us}/{peer} = {:.3}", a / b);
    if rounds {
        let per_round: Vec<f64> = xs.iter().zip(ys).map(|(x, y)| f(x) / f(y)).collect();
        let lo = per_round.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = per_round.iter().copied().fold(0.0, f64::max);
        let n = per_round.len();
        line.push_str(&format!(
            " (per round: median {:.3}, {lo:.3}–{hi:.3}, {n} rounds)",
            median(per_round)
        ));
    }
    line.push('\n');
    line
}

/// Replaces the section between the `http-load` markers of
/// docs/benchmarks.md, and writes the chart.
pub fn write_docs(
    o: &Opts,
    scenarios: &[Scenario],
    table: &str,
    extras: &str,
    ratios: &str,
    samples: &Samples,
    peers: &[Peer],
) {
    let machine = benches::docs::machine();
    let date = benches::docs::today();
    let commit = benches::docs::commit();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = if args.is_empty() {
        "cargo run --release -p benches --bin load".to_string()
    } else {
        format!(
            "cargo run --release -p benches --bin load -- {}",
            args.join(" ")
        )
    };
    let ka = &scenarios[0];
    let svg = chart(samples, &ka.name, peers);
    std::fs::write(root().join("docs/benchmarks-http.svg"), svg).expect("svg");
    let section = format!(
        "## HTTP load ({date})\n\n\
         Machine: {machine}; commit {commit}. Servers pinned to CPUs {sc} with {threads} thread(s) each where they take a count; \
         wrk ({wt} thread(s)) pinned to CPUs {wc}; {dur} s per run, median of {rounds} alternating rounds. Command: `{command}`.\n\
         Scenarios: `{ka}` = POST /15 over {kaconns} keep-alive connections; `ka1` = one connection; `close16` = 16 connections with `Connection: close`.\n\
         Servers: http-demo (`--threads {threads}`), and with `--spin-us {spin}` (`http-demo-spin`: each worker polls up to {spin} µs for a completion before it sleeps); hyper 1.x on tokio current-thread (`hyper-ct`, one thread) and multi-thread \
         (`hyper-mt`, `TOKIO_WORKER_THREADS={threads}`) runtimes; \
         Python's `http.server` (ThreadingHTTPServer, HTTP/1.1, `TCP_NODELAY`, each response in one write: `python`) and the same \
         server written naively (head and body in two writes, so Nagle's algorithm and delayed ACKs add ~40 ms: `python-naive`); \
         http-demo serving a Python handler through the C ABI (`http-demo-py`); \
         nginx ({threads} worker(s)) returning a fixed body. CPU µs/req is user+sys of the server's processes over the run divided by requests; \
         sleeps/req is the voluntary context switches of the server's threads (`/proc/PID/task/*/status`) divided by requests \
         (`≥`: threads exited during the run, so it is a lower bound); p99 range is the lowest and highest round.\n\n\
         {table}\n![requests per second and CPU per request](benchmarks-http.svg)\n\n```text\n{extras}{ratios}```\n",
        spin = crate::peers::SPIN_US,
        sc = o.server_cpus,
        wc = o.wrk_cpus,
        threads = o.threads,
        wt = o.wrk_threads,
        dur = o.duration,
        rounds = o.rounds,
        ka = ka.name,
        kaconns = ka.conns,
    );
    benches::docs::replace_section(
        "http-load",
        "cargo run --release -p benches --bin load",
        &section,
    );
    println!("wrote docs/benchmarks-http.svg");
}

/// A bar chart: requests/s (left) and CPU µs per request (right) in the
/// keep-alive scenario `sc`.
fn chart(samples: &Samples, sc: &str, peers: &[Peer]) -> String {
    let rows: Vec<(&str, f64, f64)> = peers
        .iter()
        .filter_map(|p| {
            Some((
                p.name,
                med(samples, sc, p.name, |s| s.wrk.rps)?,
                med(samples, sc, p.name, |s| s.cpu_us_per_req)?,
            ))
        })
        .collect();
    let max_rps = rows.iter().map(|r| r.1).fold(1.0, f64::max);
    let max_cpu = rows
        .iter()
        .map(|r| r.2)
        .filter(|c| c.is_finite())
        .fold(1e-9, f64::max);
    let h = 40 + rows.len() * 28;
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"760\" height=\"{h}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <text x=\"130\" y=\"18\" font-weight=\"bold\">requests/s, {sc}</text>\n\
         <text x=\"470\" y=\"18\" font-weight=\"bold\">server CPU µs per request (lower is better)</text>\n"
    );
    for (i, (name, rps, cpu)) in rows.iter().enumerate() {
        let y = 30 + i * 28;
        let w1 = 200.0 * rps / max_rps;
        let w2 = 200.0 * cpu / max_cpu;
        let color = if *name == "http-demo" {
            "#d9480f"
        } else {
            "#495057"
        };
        s.push_str(&format!(
            "<text x=\"120\" y=\"{ty}\" text-anchor=\"end\">{name}</text>\n\
             <rect x=\"130\" y=\"{y}\" width=\"{w1:.1}\" height=\"20\" fill=\"{color}\"/>\n\
             <text x=\"{tx1:.1}\" y=\"{ty}\">{rps:.0}</text>\n\
             <rect x=\"470\" y=\"{y}\" width=\"{w2:.1}\" height=\"20\" fill=\"{color}\"/>\n\
             <text x=\"{tx2:.1}\" y=\"{ty}\">{cpu:.2}</text>\n",
            ty = y + 15,
            tx1 = 135.0 + w1,
            tx2 = 475.0 + w2,
        ));
    }
    s.push_str("</svg>\n");
    s
}
