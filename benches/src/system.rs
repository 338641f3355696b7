//! What the harness reads off the machine: peak memory, the last-level cache, the cores.

/// The process's peak resident set (`VmHWM`), in bytes; `None` where `/proc` does not say.
pub use veilrank_server::metrics::peak_resident_bytes as peak_rss_bytes;

/// The value of an unlabelled gauge `name` in a Prometheus/OpenMetrics text exposition.
pub fn gauge(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|value| value.trim().parse().ok())
}

/// Resets the peak resident set (Linux: `5` to `/proc/self/clear_refs`), so that the next
/// reading is the peak of what follows; best effort elsewhere.
pub fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// The size of the last-level cache, in bytes (Linux sysfs), or 64 MiB when unknown.
pub fn last_level_cache_bytes() -> usize {
    const FALLBACK: usize = 64 << 20;
    let Ok(dir) = std::fs::read_dir("/sys/devices/system/cpu/cpu0/cache") else {
        return FALLBACK;
    };
    dir.filter_map(|e| e.ok())
        .filter_map(|e| std::fs::read_to_string(e.path().join("size")).ok())
        .filter_map(|size| parse_cache_size(size.trim()))
        .max()
        .unwrap_or(FALLBACK)
}

fn parse_cache_size(size: &str) -> Option<usize> {
    let (number, unit) = size.split_at(size.find(|c: char| !c.is_ascii_digit())?);
    let number: usize = number.parse().ok()?;
    match unit {
        "K" => Some(number << 10),
        "M" => Some(number << 20),
        "G" => Some(number << 30),
        _ => None,
    }
}

/// Threads of the global rayon pool: the cores the server and the baselines use.
pub fn threads() -> usize {
    rayon::current_num_threads()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_sizes_parse() {
        assert_eq!(parse_cache_size("491520K"), Some(491_520 << 10));
        assert_eq!(parse_cache_size("32M"), Some(32 << 20));
        assert_eq!(parse_cache_size("big"), None);
    }

    #[test]
    fn gauges_are_read_from_an_exposition() {
        let text = "# HELP veilrank_x_bytes X.\n# TYPE veilrank_x_bytes gauge\n\
                    veilrank_x_bytes_total 7\nveilrank_x_bytes 1234\n# EOF\n";
        assert_eq!(gauge(text, "veilrank_x_bytes"), Some(1234.0));
        assert_eq!(gauge(text, "veilrank_x"), None);
        assert_eq!(gauge("veilrank_x_bytes nope\n", "veilrank_x_bytes"), None);
    }

    #[test]
    fn peak_rss_is_read_on_linux() {
        if cfg!(target_os = "linux") {
            let rss = peak_rss_bytes().expect("VmHWM");
            assert!(rss > 1 << 20, "{rss}");
        }
    }
}
