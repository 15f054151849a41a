//! Resident memory of the server under test, read from `/proc/PID/status`.

use std::io;

/// `VmRSS` of one process, in bytes.
pub fn rss_bytes(pid: u32) -> io::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .ok_or_else(|| io::Error::other(format!("no VmRSS for pid {pid}")))?;
    let kib: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| io::Error::other(format!("bad VmRSS line {line:?}")))?;
    Ok(kib * 1024)
}

/// Sum of `VmRSS` over several processes (nginx workers), in bytes.
pub fn rss_sum(pids: &[u32]) -> io::Result<u64> {
    pids.iter().map(|&p| rss_bytes(p)).sum()
}

/// CPU time (user + system) one process has used, from `/proc/PID/stat` (in clock ticks of
/// 10 ms: `CLK_TCK` is 100 on every Linux the benchmarks run on).
pub fn cpu_time(pid: u32) -> io::Result<std::time::Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The command name may contain spaces: the fields start after its closing parenthesis.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).ok_or_else(|| io::Error::other("bad /proc/PID/stat"))?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| fields.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    // utime and stime are fields 14 and 15 of stat, 12 and 13 after the name.
    Ok(std::time::Duration::from_millis((tick(11) + tick(12)) * 10))
}

/// Sum of [`cpu_time`] over several processes.
pub fn cpu_sum(pids: &[u32]) -> io::Result<std::time::Duration> {
    pids.iter().map(|&p| cpu_time(p)).sum()
}

/// Parses `--pid` values: each may be a comma-separated list.
pub fn parse_pids(values: &[&str]) -> Result<Vec<u32>, String> {
    values
        .iter()
        .flat_map(|v| v.split(','))
        .filter(|v| !v.is_empty())
        .map(|v| v.trim().parse().map_err(|_| format!("bad pid {v:?}")))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_rss_is_positive() {
        assert!(rss_bytes(std::process::id()).expect("readable") > 0);
    }

    #[test]
    fn pid_lists() {
        assert_eq!(parse_pids(&["1,2", "3"]), Ok(vec![1, 2, 3]));
    }
}
