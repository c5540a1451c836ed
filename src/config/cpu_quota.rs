//! The default worker count: the CPUs the container may use, from its cgroup CPU quota
//! (a Kubernetes CPU limit), not every CPU of the node.

use std::fs;
use std::path::Path;

/// Where a container sees its own cgroup.
const CGROUP_ROOT: &str = "/sys/fs/cgroup";

/// One stage worker per CPU the quota allows, rounded up (a 1.5-CPU limit gets 2 workers:
/// the stages are the busy threads, the rest mostly wait), capped by the CPUs the process
/// may run on. `available_parallelism` applies a quota it finds too, rounded down; reading
/// it here as well covers runtimes where it finds none.
pub fn default_workers() -> usize {
    let available = std::thread::available_parallelism().map_or(1, usize::from);
    quota_cpus(Path::new(CGROUP_ROOT)).map_or(available, |quota| quota.min(available))
}

/// The quota under `root` in whole CPUs: cgroup v2's `cpu.max`, else cgroup v1's
/// `cpu/cpu.cfs_quota_us` over `cpu/cpu.cfs_period_us`; `None` without a quota.
fn quota_cpus(root: &Path) -> Option<usize> {
    if let Ok(cpu_max) = fs::read_to_string(root.join("cpu.max")) {
        return parse_cpu_max(&cpu_max);
    }
    let read = |name: &str| fs::read_to_string(root.join("cpu").join(name)).ok();
    parse_cfs(&read("cpu.cfs_quota_us")?, &read("cpu.cfs_period_us")?)
}

/// cgroup v2: `"<quota> <period>"` in microseconds, or `"max <period>"` without a quota.
fn parse_cpu_max(text: &str) -> Option<usize> {
    let mut fields = text.split_whitespace();
    let quota = fields.next()?.parse().ok()?;
    let period = fields.next()?.parse().ok()?;
    whole_cpus(quota, period)
}

/// cgroup v1: the quota (`-1` without one) and the period, one file each.
fn parse_cfs(quota: &str, period: &str) -> Option<usize> {
    let quota: i64 = quota.trim().parse().ok()?;
    whole_cpus(u64::try_from(quota).ok()?, period.trim().parse().ok()?)
}

fn whole_cpus(quota: u64, period: u64) -> Option<usize> {
    if quota == 0 || period == 0 {
        return None;
    }
    usize::try_from(quota.div_ceil(period)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cgroup_v2_quotas_round_up_to_whole_cpus() {
        assert_eq!(parse_cpu_max("200000 100000\n"), Some(2));
        assert_eq!(parse_cpu_max("150000 100000\n"), Some(2));
        assert_eq!(parse_cpu_max("50000 100000\n"), Some(1));
        assert_eq!(parse_cpu_max("max 100000\n"), None);
        assert_eq!(parse_cpu_max(""), None);
        assert_eq!(parse_cpu_max("0 100000"), None);
    }

    #[test]
    fn cgroup_v1_quotas_round_up_and_minus_one_means_none() {
        assert_eq!(parse_cfs("400000\n", "100000\n"), Some(4));
        assert_eq!(parse_cfs("250000\n", "100000\n"), Some(3));
        assert_eq!(parse_cfs("-1\n", "100000\n"), None);
        assert_eq!(parse_cfs("100000\n", "0\n"), None);
    }

    #[test]
    fn v2_is_read_first_and_v1_is_the_fallback() {
        let v2 = tempfile::tempdir().unwrap();
        fs::write(v2.path().join("cpu.max"), "300000 100000\n").unwrap();
        fs::create_dir(v2.path().join("cpu")).unwrap();
        fs::write(v2.path().join("cpu/cpu.cfs_quota_us"), "100000\n").unwrap();
        fs::write(v2.path().join("cpu/cpu.cfs_period_us"), "100000\n").unwrap();
        assert_eq!(quota_cpus(v2.path()), Some(3));

        fs::remove_file(v2.path().join("cpu.max")).unwrap();
        assert_eq!(quota_cpus(v2.path()), Some(1));

        let none = tempfile::tempdir().unwrap();
        assert_eq!(quota_cpus(none.path()), None);
    }

    #[test]
    fn the_default_never_exceeds_the_cpus_available() {
        let available = std::thread::available_parallelism().map_or(1, usize::from);
        assert!((1..=available).contains(&default_workers()));
    }
}
