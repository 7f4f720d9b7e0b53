//! Submits and reaps NOPs, and prints what it did.
//!
//! `cargo run -p ring-core --example nop -- [batch] [rounds]`

use ring_core::{opcode, IoUring};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let batch: u32 = args.next().map(|a| a.parse()).transpose()?.unwrap_or(8);
    let rounds: u64 = args.next().map(|a| a.parse()).transpose()?.unwrap_or(4);

    let mut ring = IoUring::new(batch.next_power_of_two().max(1))?;
    let p = ring.params();
    println!(
        "ring: {} SQ / {} CQ entries, features {:?}",
        p.sq_entries(),
        p.cq_entries(),
        p.features()
    );
    let mut next = 0u64;
    let mut reaped = 0u64;
    for round in 0..rounds {
        {
            let mut sq = ring.submission();
            for _ in 0..batch {
                let nop = opcode::Nop::new().build().user_data(next);
                next += 1;
                // SAFETY: a NOP points to no memory.
                unsafe { sq.push(&nop)? };
            }
        }
        let submitted = ring.submit_and_wait(batch as usize)?;
        let mut ok = 0;
        for cqe in ring.completion() {
            cqe.result()?;
            ok += 1;
        }
        reaped += ok;
        println!("round {round}: submitted {submitted} NOPs, reaped {ok} completions");
    }
    println!("total: {next} NOPs submitted, {reaped} reaped");
    Ok(())
}
