//! Hosts for the multi-host test: network namespaces on one bridge, the server binary and a
//! PostgreSQL in them, and everything removed again when the test ends, passed or not.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The bridge's own address, through which the test reaches every host.
pub const BRIDGE_IP: &str = "10.78.0.1";
const BRIDGE: &str = "vrbr0";
/// Host names, in the order their addresses are given (10.78.0.10 onwards).
const NAMES: [&str; 7] = ["pg", "s0", "s1", "s2", "one", "g0", "g1"];

/// Runs `ip` (or another command) and says what failed.
fn run(program: &str, args: &[&str]) -> bool {
    match Command::new(program).args(args).output() {
        Ok(out) if out.status.success() => true,
        Ok(out) => {
            let _ = writeln!(
                std::io::stderr(),
                "netns: {program} {} failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            );
            false
        }
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "netns: cannot run {program}: {e}");
            false
        }
    }
}

fn ip_of(name: &str) -> String {
    let i = NAMES.iter().position(|n| *n == name).unwrap_or(0);
    format!("10.78.0.{}", 10 + i)
}

/// The namespaces, the processes in them, and the PostgreSQL data directory.
pub struct Hosts {
    children: Vec<Child>,
    postgres: Option<(PathBuf, PathBuf)>,
    logs: tempfile::TempDir,
}

impl Hosts {
    /// The bridge and one namespace per host; `None` (SKIPPED said) without root or `ip`.
    pub fn try_new() -> Option<Self> {
        let root = Command::new("id")
            .arg("-u")
            .output()
            .ok()
            .is_some_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
        if !root || !run("ip", &["netns", "list"]) {
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED the multi-host test: it needs root and ip netns"
            );
            return None;
        }
        Self::remove();
        let hosts = Self {
            children: Vec::new(),
            postgres: None,
            logs: tempfile::tempdir().ok()?,
        };
        let ok = run("ip", &["link", "add", BRIDGE, "type", "bridge"])
            && run(
                "ip",
                &["addr", "add", &format!("{BRIDGE_IP}/24"), "dev", BRIDGE],
            )
            && run("ip", &["link", "set", BRIDGE, "up"]);
        assert!(ok, "cannot make the bridge");
        for name in NAMES {
            let (ns, outside, inside) = (
                format!("vr-{name}"),
                format!("vrh-{name}"),
                format!("vrp-{name}"),
            );
            let ok = run("ip", &["netns", "add", &ns])
                && run(
                    "ip",
                    &[
                        "link", "add", &outside, "type", "veth", "peer", "name", &inside,
                    ],
                )
                && run("ip", &["link", "set", &inside, "netns", &ns])
                && run("ip", &["link", "set", &outside, "master", BRIDGE, "up"])
                && run(
                    "ip",
                    &[
                        "-n",
                        &ns,
                        "addr",
                        "add",
                        &format!("{}/24", ip_of(name)),
                        "dev",
                        &inside,
                    ],
                )
                && run("ip", &["-n", &ns, "link", "set", &inside, "up"])
                && run("ip", &["-n", &ns, "link", "set", "lo", "up"]);
            assert!(ok, "cannot make host {name}");
        }
        Some(hosts)
    }

    /// Removes what a run left (this one, or one that was killed).
    fn remove() {
        for name in NAMES {
            let _ = Command::new("ip")
                .args(["netns", "del", &format!("vr-{name}")])
                .output();
            let _ = Command::new("ip")
                .args(["link", "del", &format!("vrh-{name}")])
                .output();
        }
        let _ = Command::new("ip").args(["link", "del", BRIDGE]).output();
    }

    /// Starts the server binary on host `name` (port 8080) with `args` and `env`; its URL.
    pub fn server(&mut self, name: &str, args: &[&str], env: &[(&str, &str)]) -> String {
        let addr = format!("{}:8080", ip_of(name));
        let log = std::fs::File::create(self.logs.path().join(format!("{name}.log"))).unwrap();
        let child = Command::new("ip")
            .args([
                "netns",
                "exec",
                &format!("vr-{name}"),
                env!("CARGO_BIN_EXE_veilrank-server"),
            ])
            .args(["--addr", &addr, "--no-demo-page"])
            .args(args)
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.children.push(child);
        format!("http://{addr}")
    }

    /// A PostgreSQL on host `name`, reachable from the other hosts; its URL.
    pub fn postgres(&mut self, name: &str) -> String {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .ok()
            .and_then(|d| d.filter_map(Result::ok).map(|e| e.path().join("bin")).max())
            .expect("PostgreSQL under /usr/lib/postgresql (.ci/run installs it)");
        let data = self.logs.path().join("pgdata");
        std::fs::create_dir_all(&data).unwrap();
        assert!(run(
            "chown",
            &["-R", "postgres:", &self.logs.path().display().to_string()]
        ));
        let as_postgres = |ns: Option<&str>, tool: &str, args: &[&str]| {
            let mut all: Vec<String> = Vec::new();
            if let Some(ns) = ns {
                all.extend(["netns", "exec", ns].map(String::from));
            }
            all.extend(["runuser", "-u", "postgres", "--"].map(String::from));
            all.push(bin.join(tool).display().to_string());
            all.extend(args.iter().map(|a| a.to_string()));
            let all: Vec<&str> = all.iter().map(String::as_str).collect();
            if ns.is_some() {
                run("ip", &all)
            } else {
                run(all[0], &all[1..])
            }
        };
        let d = data.display().to_string();
        assert!(as_postgres(
            None,
            "initdb",
            &["-D", &d, "-U", "postgres", "--auth=trust", "-E", "UTF8"]
        ));
        let mut hba = std::fs::OpenOptions::new()
            .append(true)
            .open(data.join("pg_hba.conf"))
            .unwrap();
        writeln!(hba, "host all all 10.78.0.0/24 trust").unwrap();
        let ip = ip_of(name);
        let options = format!("-c listen_addresses={ip} -p 5432 -k {d}");
        let log = format!("{d}/log");
        assert!(as_postgres(
            Some(&format!("vr-{name}")),
            "pg_ctl",
            &["-D", &d, "-l", &log, "-w", "-o", &options, "start"]
        ));
        self.postgres = Some((bin.clone(), data.clone()));
        assert!(as_postgres(
            None,
            "createdb",
            &["-h", &ip, "-p", "5432", "-U", "postgres", "veilrank"]
        ));
        format!("postgres://postgres@{ip}:5432/veilrank")
    }

    /// Waits until `base` answers `/readyz` with 200 (a minute at most).
    pub async fn wait_ready(&self, http: &reqwest::Client, base: &str) {
        let started = Instant::now();
        loop {
            if let Ok(r) = http.get(format!("{base}/readyz")).send().await {
                if r.status().is_success() {
                    return;
                }
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "{base} not ready; logs in {}",
                self.logs.path().display()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Sets host `name`'s link up or down (down: it vanishes from the network, no reset sent).
    pub fn link(&self, name: &str, up: bool) {
        assert!(run(
            "ip",
            &[
                "link",
                "set",
                &format!("vrh-{name}"),
                if up { "up" } else { "down" }
            ]
        ));
    }
}

impl Drop for Hosts {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Some((bin, data)) = &self.postgres {
            let _ = Command::new("runuser")
                .args(["-u", "postgres", "--"])
                .arg(bin.join("pg_ctl"))
                .args(["-D"])
                .arg(data)
                .args(["-m", "immediate", "stop"])
                .output();
        }
        if std::thread::panicking() {
            // the servers' logs, for the failure report
            for name in NAMES {
                if let Ok(log) =
                    std::fs::read_to_string(self.logs.path().join(format!("{name}.log")))
                {
                    let tail: Vec<&str> = log.lines().rev().take(15).collect();
                    let _ = writeln!(
                        std::io::stderr(),
                        "--- {name}.log (last lines)\n{}",
                        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                    );
                }
            }
        }
        Self::remove();
    }
}
