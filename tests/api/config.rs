//! Start-up validation, through the real binary: one clear line naming the key, exit code 2.

use std::process::Command;

fn run(envs: &[(&str, &str)]) -> (Option<i32>, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_instagram-gateway"));
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"));
    for (key, _) in std::env::vars() {
        if key.starts_with("IGW") {
            cmd.env_remove(key);
        }
    }
    cmd.envs(envs.iter().copied());
    let output = cmd.output().unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn production_without_secrets_names_the_missing_key() {
    let (code, stderr) = run(&[("IGW_ENV", "production")]);
    assert_eq!(code, Some(2));
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    // The first missing key, with the variable that sets it.
    assert!(
        stderr.contains("server.public_url (IGW__SERVER__PUBLIC_URL): is required in production"),
        "{stderr}"
    );
}

#[test]
fn env_lists_are_comma_separated_and_values_are_validated() {
    let (code, stderr) = run(&[(
        "IGW__INSTAGRAM__SCOPES",
        "instagram_business_basic,Not-A-Scope",
    )]);
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("instagram.scopes") && stderr.contains("`Not-A-Scope`"),
        "{stderr}"
    );
    let (code, stderr) = run(&[("IGW__SERVER__PORT", "eighty")]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("server.port"), "{stderr}");
    let (code, stderr) = run(&[("IGW__ADMIN__TOKEN", "short")]);
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("admin.token") && !stderr.contains("short"),
        "{stderr}"
    );
}

#[test]
fn igw_env_is_local_or_production() {
    for bad in ["../etc", "prod", "staging"] {
        let (code, stderr) = run(&[("IGW_ENV", bad)]);
        assert_eq!(code, Some(2), "{bad}");
        assert!(
            stderr.contains("IGW_ENV must be `local` or `production`"),
            "{stderr}"
        );
    }
}

#[test]
fn production_needs_its_environment_file() {
    let dir = std::env::temp_dir().join(format!("igw-config-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let defaults = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/default.toml");
    std::fs::copy(defaults, dir.join("default.toml")).unwrap();
    let config_dir = dir.to_str().unwrap();
    let (code, stderr) = run(&[("IGW_ENV", "production"), ("IGW_CONFIG_DIR", config_dir)]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("production.toml"), "{stderr}");
    // `local` needs no file of its own: loading gets as far as reading the (invalid) port.
    let (code, stderr) = run(&[
        ("IGW_CONFIG_DIR", config_dir),
        ("IGW__SERVER__PORT", "not-a-port"),
    ]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("server.port"), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_mistyped_key_is_fatal_in_production_and_names_the_closest_key() {
    let (code, stderr) = run(&[
        ("IGW_ENV", "production"),
        ("IGW__REDIS__URLL", "redis://127.0.0.1:6379"),
    ]);
    assert_eq!(code, Some(2));
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("`redis.urll` (from IGW__REDIS__URLL) matches no setting")
            && stderr.contains("did you mean `redis.url` (IGW__REDIS__URL)"),
        "{stderr}"
    );
}

#[test]
fn a_success_redirect_with_a_line_break_is_refused_at_start_up() {
    let (code, stderr) = run(&[(
        "IGW__OAUTH__SUCCESS_REDIRECT",
        "https://shop.example/done\r\nSet-Cookie: a=b",
    )]);
    assert_eq!(code, Some(2));
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("oauth.success_redirect"), "{stderr}");
    assert!(
        !stderr.contains("Set-Cookie"),
        "the value is not echoed: {stderr}"
    );
}

#[test]
fn a_mistyped_key_is_a_warning_locally_and_the_service_starts() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;

    let mut cmd = Command::new(env!("CARGO_BIN_EXE_instagram-gateway"));
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"));
    for (key, _) in std::env::vars() {
        if key.starts_with("IGW") || key == "RUST_LOG" {
            cmd.env_remove(key);
        }
    }
    let mut child = cmd
        .env("IGW__SERVER__PORT", "0")
        .env("IGW__REDIS__URLL", "redis://127.0.0.1:6379")
        .env("IGW__LOG__FORMAT", "json")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    // Read until the service says it listens: the warning comes before that line.
    let lines: Vec<String> = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .take_while(|line| !line.contains("instagram-gateway listening"))
        .take(200)
        .collect();
    child.kill().unwrap();
    child.wait().unwrap();
    let warning = lines
        .iter()
        .find(|line| line.contains("matches no setting"))
        .unwrap_or_else(|| panic!("no warning in {lines:#?}"));
    let warning: serde_json::Value = serde_json::from_str(warning).unwrap();
    assert_eq!(warning["level"], "WARN", "{warning}");
    assert_eq!(warning["fields"]["key"], "redis.urll", "{warning}");
    assert_eq!(warning["fields"]["closest"], "redis.url", "{warning}");
}
