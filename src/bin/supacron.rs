//! `supacron`: runs the jobs without Vercel (serve, run, scheduler). Built in issue #7.

fn main() {
    eprintln!("supacron: the local runner (serve / run / scheduler) is not built yet (issue #7)");
    std::process::exit(2);
}
