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
    assert!(stderr.contains("redis.url"), "{stderr}");
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
fn an_unknown_environment_file_is_fine_but_a_bad_name_is_not() {
    let (code, stderr) = run(&[("IGW_ENV", "../etc")]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("IGW_ENV"), "{stderr}");
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
}
