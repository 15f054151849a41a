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
