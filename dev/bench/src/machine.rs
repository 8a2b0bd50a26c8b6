//! The machine a run was measured on: cores, CPU model, memory (Linux `/proc`).

use std::fmt;

/// What the report says about the machine.
#[derive(Clone, Debug)]
pub struct Machine {
    /// Cores available to this process.
    pub cores: usize,
    /// `model name` of the first CPU.
    pub cpu: String,
    /// Total memory in GiB.
    pub memory_gib: f64,
}

impl Machine {
    /// Reads the current machine.
    pub fn current() -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name"))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_else(|| "unknown CPU".into());
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let kib: f64 = meminfo
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0);
        Machine {
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            cpu,
            memory_gib: kib / 1024.0 / 1024.0,
        }
    }
}

impl fmt::Display for Machine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} cores ({}), {:.0} GiB RAM",
            self.cores, self.cpu, self.memory_gib
        )
    }
}
