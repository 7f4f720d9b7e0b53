//! A fixed amount of NOP work, for instruction counting with callgrind:
//! `nop <impl> <batch> <rounds>`.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() != 3 {
        eprintln!(
            "usage: nop <impl> <batch> <rounds>; impls: {:?}, sketches: {:?}",
            benches::rings::IMPLS,
            benches::rings::SKETCHES
        );
        std::process::exit(2);
    }
    let batch: u32 = args[1].parse().expect("batch");
    let rounds: u64 = args[2].parse().expect("rounds");
    let Some(mut ring) = benches::rings::make(&args[0], batch.next_power_of_two()) else {
        eprintln!("{} is not available in this build", args[0]);
        std::process::exit(3);
    };
    ring.nop_rounds(batch, rounds);
}
