//! What the harness reads off the machine: the CPU and its vector extensions, peak memory, the
//! last-level cache, the cores.

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

/// The CPU's model name (`/proc/cpuinfo`), or the architecture where it does not say.
pub fn cpu_model() -> String {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    info.lines()
        .find_map(|line| {
            let (key, value) = line.split_once(':')?;
            matches!(key.trim(), "model name" | "Model" | "cpu model")
                .then(|| value.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string())
}

/// The vector extensions that matter to the scoring kernels and the plaintext baseline, as this
/// CPU reports them at run time (space-separated; `none` when there are none of them).
pub fn isa_features() -> String {
    #[cfg_attr(
        not(any(target_arch = "x86_64", target_arch = "aarch64")),
        expect(unused_mut, reason = "no features to probe on this architecture")
    )]
    let mut found: Vec<&str> = Vec::new();
    #[cfg(target_arch = "x86_64")]
    {
        for (name, present) in [
            ("avx2", std::is_x86_feature_detected!("avx2")),
            ("fma", std::is_x86_feature_detected!("fma")),
            ("avx512f", std::is_x86_feature_detected!("avx512f")),
            ("avx512ifma", std::is_x86_feature_detected!("avx512ifma")),
            ("avx512vnni", std::is_x86_feature_detected!("avx512vnni")),
            ("avxvnni", std::is_x86_feature_detected!("avxvnni")),
        ] {
            if present {
                found.push(name);
            }
        }
    }
    #[cfg(target_arch = "aarch64")]
    {
        for (name, present) in [
            ("neon", std::arch::is_aarch64_feature_detected!("neon")),
            (
                "dotprod",
                std::arch::is_aarch64_feature_detected!("dotprod"),
            ),
            ("sve", std::arch::is_aarch64_feature_detected!("sve")),
        ] {
            if present {
                found.push(name);
            }
        }
    }
    if found.is_empty() {
        "none".into()
    } else {
        found.join(" ")
    }
}

/// Threads of the global rayon pool: the cores the server and the baselines use.
pub fn threads() -> usize {
    rayon::current_num_threads()
}

/// A running server's peak memory, from the gauge its `/metrics` exposes; `None` if it does
/// not say (another platform, or metrics out of reach), and the study goes on without it.
pub async fn server_peak_rss(url: &str) -> Option<u64> {
    // a server that stops answering costs the study this figure, not the study
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .ok()?;
    let text = http
        .get(format!("{url}/metrics"))
        .send()
        .await
        .ok()?
        .error_for_status()
        .ok()?
        .text()
        .await
        .ok()?;
    gauge(&text, "veilrank_process_peak_resident_bytes").map(|v| v as u64)
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
    fn the_cpu_and_its_extensions_are_named() {
        assert!(!cpu_model().is_empty());
        let isa = isa_features();
        assert!(!isa.is_empty());
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx2") {
            assert!(isa.split(' ').any(|f| f == "avx2"), "{isa}");
        }
    }

    #[test]
    fn peak_rss_is_read_on_linux() {
        if cfg!(target_os = "linux") {
            let rss = peak_rss_bytes().expect("VmHWM");
            assert!(rss > 1 << 20, "{rss}");
        }
    }
}
