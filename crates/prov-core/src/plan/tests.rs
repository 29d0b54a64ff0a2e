//! Plan parsing: both formats into one plan, and every class of bad input reported with file:line:col and key.

use std::path::Path;

use super::*;
use crate::provider::{FieldProblem, LegacyKey};

fn rules(spec: &CreateSpec) -> Vec<FieldProblem> {
    if spec.label.contains(' ') {
        vec![FieldProblem { key: "label", message: "no spaces in labels".into() }]
    } else {
        Vec::new()
    }
}

static ACME: ProviderInfo = ProviderInfo {
    name: "acme",
    display_name: "Acme",
    aliases: &["ac"],
    default_base_url: "https://api.acme.invalid/v1",
    url_env: "PROV_ACME_API_URL",
    token_env: &["ACME_TOKEN"],
    currency: crate::Currency::Usd,
    catalogue_needs_token: false,
    plan_keys: &["ipv6", "backups", "tags", "ssh_keys", "user_data", "hostname"],
    unsupported_hints: &[("root_password", "use ssh_keys")],
    legacy_keys: &[
        LegacyKey::Maps("region", "region"),
        LegacyKey::Maps("plan", "plan"),
        LegacyKey::Maps("os_id", "image"),
        LegacyKey::Maps("label", "label"),
        LegacyKey::Maps("enable_ipv6", "ipv6"),
        LegacyKey::Maps("tag", "tags"),
        LegacyKey::Ignored("root_pass", "ignored here"),
    ],
    sandbox_path: "/acme/v1",
    validate: rules,
    parse_error: |_, _| crate::ApiError::default(),
};

const REGISTRY: &[&ProviderInfo] = &[&ACME];

fn ok(name: &str, text: &str) -> Plan {
    parse(Path::new(name), text, REGISTRY).unwrap_or_else(|e| panic!("{e}"))
}

fn errors(name: &str, text: &str) -> Vec<String> {
    match parse(Path::new(name), text, REGISTRY) {
        Ok(_) => panic!("expected errors for {text}"),
        Err(e) => e.0.iter().map(ToString::to_string).collect(),
    }
}

const GOOD: &str = r##"provider = "acme"
wait = "created"

[[instance]]
label = "web-1"
region = "syd"
plan = "small"
image = 2136
ipv6 = true
tags = ["web", "prod"]
user_data = "#cloud-config"
"##;

#[test]
fn a_good_toml_plan_becomes_a_validated_plan() {
    let plan = ok("p.toml", GOOD);
    assert_eq!(plan.wait, WaitLevel::Created);
    let i = &plan.instances[0];
    assert_eq!(i.provider.name, "acme");
    assert_eq!(
        (i.spec.label.as_str(), i.spec.region.as_str(), i.spec.plan.as_str(), i.spec.image.as_str()),
        ("web-1", "syd", "small", "2136")
    );
    assert_eq!(i.spec.ipv6, Some(true));
    assert_eq!(i.spec.tags, ["web", "prod"]);
    assert_eq!(i.spec.user_data.as_ref().map(Secret::expose), Some("#cloud-config"));
    assert_eq!(i.location.line, 4);
}

#[test]
fn unknown_keys_are_located_and_get_a_suggestion() {
    let e = errors("p.toml", &GOOD.replace("region = \"syd\"", "regoin = \"syd\""));
    assert_eq!(
        e,
        [
            "p.toml:4:1: `region`: missing required key `region`",
            "p.toml:6:1: `regoin`: unknown key `regoin`; did you mean `region`?",
        ]
    );
}

#[test]
fn wrong_types_are_located_at_the_value() {
    let e = errors("p.toml", &GOOD.replace("ipv6 = true", "ipv6 = \"yes\""));
    assert_eq!(e, ["p.toml:9:8: `ipv6`: expected a boolean (true or false), found a string"]);
    let e = errors("p.toml", &GOOD.replace("tags = [\"web\", \"prod\"]", "tags = [\"web\", 3]"));
    assert_eq!(e, ["p.toml:10:16: `tags`: expected a string in the list, found an integer"]);
}

#[test]
fn duplicate_labels_point_at_the_second_one() {
    let text = format!("{GOOD}\n[[instance]]\nlabel = \"web-1\"\nregion = \"syd\"\nplan = \"small\"\nimage = 1\n");
    assert_eq!(errors("p.toml", &text), ["p.toml:14:9: `label`: label `web-1` is used twice (first at line 5)"]);
}

#[test]
fn keys_the_provider_does_not_support_are_refused_with_its_hint() {
    let e = errors("p.toml", &GOOD.replace("ipv6 = true", "root_password = \"hunter2hunter2\""));
    assert_eq!(e, ["p.toml:9:1: `root_password`: `root_password` is not supported by Acme: use ssh_keys"]);
    assert!(!e[0].contains("hunter2"), "a secret value is never echoed");
}

#[test]
fn provider_rules_are_checked_at_parse_time_and_located() {
    let e = errors("p.toml", &GOOD.replace("web-1", "web 1"));
    assert_eq!(e, ["p.toml:5:9: `label`: no spaces in labels"]);
}

#[test]
fn syntax_errors_unknown_providers_and_wait_levels_are_located() {
    let e = errors("p.toml", "provider = \"acme\"\n[[instance]\nlabel = 1\n");
    assert_eq!(e.len(), 1, "a syntax error is reported alone: {e:?}");
    assert!(e[0].starts_with("p.toml:2:12: invalid TOML: unclosed array table"), "{e:?}");
    let e = errors("p.toml", &GOOD.replace("provider = \"acme\"", "provider = \"acmee\""));
    assert_eq!(e, ["p.toml:1:12: `provider`: unknown provider `acmee` (known: acme); did you mean `acme`?"]);
    let e = errors("p.toml", &GOOD.replace("wait = \"created\"", "wait = \"finished\""));
    assert_eq!(e, ["p.toml:2:8: `wait`: `finished` is not a wait level (none, created, ready)"]);
}

#[test]
fn top_level_mistakes_are_explained() {
    let e = errors("p.toml", "provider = \"acme\"\nregion = \"syd\"\n[instance]\nlabel = \"a\"\n");
    assert_eq!(
        e,
        [
            "p.toml:2:1: `region`: unknown top-level key `region`; instance keys go inside an [[instance]] table",
            "p.toml:3:2: `instance`: write `[[instance]]` (an array of tables), not `[instance]`",
        ]
    );
    let e = errors("p.toml", "provider = \"acme\"\n");
    assert_eq!(e, ["p.toml:1:1: `instance`: the plan declares no instance (add an [[instance]] table)"]);
    let e = errors("p.toml", "[[instance]]\nlabel = \"a\"\nregion = \"r\"\nplan = \"p\"\nimage = \"i\"\n");
    assert_eq!(e, ["p.toml:1:1: `provider`: no provider: set `provider` at the top of the plan or in this instance"]);
}

#[test]
fn user_data_file_is_read_relative_to_the_plan_and_excludes_user_data() {
    let dir = std::env::temp_dir().join(format!("prov-plan-test-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let _ = std::fs::write(dir.join("init.yaml"), "#cloud-config\nruncmd: []\n");
    let text = GOOD.replace("user_data = \"#cloud-config\"", "user_data_file = \"init.yaml\"");
    let plan = parse(&dir.join("p.toml"), &text, REGISTRY).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(plan.instances[0].spec.user_data.as_ref().map(Secret::expose), Some("#cloud-config\nruncmd: []\n"));
    let text = GOOD.replace("user_data = \"#cloud-config\"", "user_data_file = \"missing.yaml\"");
    let e = parse(&dir.join("p.toml"), &text, REGISTRY).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(e.contains(":11:18: `user_data_file`: cannot read"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn user_data_file_must_be_a_small_regular_file() {
    let dir = std::env::temp_dir().join(format!("prov-plan-test-ud-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::create_dir_all(&dir);
    let plan_with = |file: &str| GOOD.replace("user_data = \"#cloud-config\"", &format!("user_data_file = \"{file}\""));
    let error = |file: &str| {
        parse(&dir.join("p.toml"), &plan_with(file), REGISTRY).err().map(|e| e.to_string()).unwrap_or_default()
    };
    let max = USER_DATA_FILE_MAX_BYTES;
    let sparse = |name: &str, len: u64| {
        let path = dir.join(name);
        let f = std::fs::File::create(&path).unwrap_or_else(|e| panic!("{e}"));
        f.set_len(len).unwrap_or_else(|e| panic!("{e}"));
        path
    };
    let huge = sparse("huge.yaml", 135_000_000);
    let e = error(&huge.display().to_string());
    assert!(e.contains(":11:18: `user_data_file`: "), "{e}");
    assert!(e.contains(&format!("is 135000000 bytes; providers accept at most {max} bytes")), "{e}");
    let e = error(&sparse("over.yaml", max + 1).display().to_string());
    assert!(e.contains(&format!("is {} bytes", max + 1)), "{e}");
    let at_limit = sparse("limit.yaml", max);
    let plan = parse(&dir.join("p.toml"), &plan_with("limit.yaml"), REGISTRY).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(plan.instances[0].spec.user_data.as_ref().map(|u| u.expose().len() as u64), Some(max));
    let _ = std::fs::remove_file(at_limit);
    let e = error(&dir.display().to_string());
    assert!(e.contains(":11:18: `user_data_file`: ") && e.contains("is a directory"), "{e}");
    std::fs::write(dir.join("bin.yaml"), b"\xff\xfe").unwrap_or_else(|e| panic!("{e}"));
    assert!(error("bin.yaml").contains("is not UTF-8 text"), "{}", error("bin.yaml"));
    #[cfg(unix)]
    {
        let e = error("/dev/zero");
        assert!(e.contains(":11:18: `user_data_file`: `/dev/zero` is not a regular file"), "{e}");
        let fifo = dir.join("fifo.yaml");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap_or_else(|e| panic!("{e}"));
        assert!(made.success());
        // Opening a FIFO without a writer would block: it must be refused from its metadata alone.
        let e = error("fifo.yaml");
        assert!(e.contains(":11:18: `user_data_file`: ") && e.contains("fifo.yaml` is not a regular file"), "{e}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

const RECIPE: &str = "# a Prod recipe\nprovider: acme\naction: createInstance\nwaitType: waitForResourceCreation\nplan: small\nregion: syd\nos_id: 477\nenable_ipv6: true\ntag: a,b\n";

#[test]
fn a_legacy_recipe_becomes_the_same_kind_of_plan() {
    let plan = ok("recipes/My Server.txt", RECIPE);
    assert_eq!(plan.wait, WaitLevel::Created);
    let s = &plan.instances[0].spec;
    assert_eq!((s.region.as_str(), s.plan.as_str(), s.image.as_str(), s.ipv6), ("syd", "small", "477", Some(true)));
    assert_eq!(s.tags, ["a", "b"]);
    assert_eq!(s.label, "prov-my-server", "a recipe without a label gets a stable generated one");
}

#[test]
fn legacy_values_keep_everything_after_the_first_colon() {
    let plan = ok("r.txt", &format!("{RECIPE}label: web:1\n"));
    assert_eq!(plan.instances[0].spec.label, "web:1");
}

#[test]
fn legacy_mistakes_name_the_line_never_drop_it() {
    let e = errors("r.txt", &format!("{RECIPE}this line has no colon\nregoin: x\nplan: big\n"));
    assert_eq!(
        e,
        [
            "r.txt:10:1: expected `key: value` (the line is not shown; it may hold a secret)",
            "r.txt:11:1: `regoin`: unknown recipe key `regoin` for Acme; did you mean `region`?",
            "r.txt:12:1: `plan`: `plan` is given twice (first on line 5)",
        ]
    );
    let e = errors("r.txt", &RECIPE.replace("createInstance", "deleteInstance"));
    assert_eq!(e, ["r.txt:3:9: `action`: unsupported action `deleteInstance` (prov runs `createInstance` recipes)"]);
    let e = errors("r.txt", &RECIPE.replace("enable_ipv6: true", "enable_ipv6: maybe"));
    assert_eq!(e, ["r.txt:8:14: `ipv6`: expected true or false, found `maybe`"]);
}

#[test]
fn a_malformed_line_is_never_quoted_because_it_may_hold_a_password() {
    let e = errors("r.txt", &format!("{RECIPE}root_pass Hunter2-Secret\nHunter3-Secret\n"));
    assert_eq!(
        e,
        [
            "r.txt:10:1: expected `key: value`: write `root_pass: …` (the line is not shown; it may hold a secret)",
            "r.txt:11:1: expected `key: value` (the line is not shown; it may hold a secret)",
        ]
    );
}

#[test]
fn ignored_legacy_keys_warn_instead_of_failing() {
    let plan = ok("r.txt", &format!("{RECIPE}root_pass: s3cret\n"));
    assert_eq!(
        plan.warnings.iter().map(ToString::to_string).collect::<Vec<_>>(),
        ["r.txt:10:1: `root_pass`: ignored here"]
    );
}

#[test]
fn count_expands_numbered_labels() {
    let plan = ok("p.toml", &GOOD.replace("label = \"web-1\"", "label = \"web-{n}\"\ncount = 3"));
    let labels: Vec<&str> = plan.instances.iter().map(|i| i.spec.label.as_str()).collect();
    assert_eq!(labels, ["web-1", "web-2", "web-3"]);
    let e = errors("p.toml", &GOOD.replace("label = \"web-1\"", "label = \"web\"\ncount = 3"));
    assert_eq!(
        e,
        [
            "p.toml:6:9: `count`: `count = 3` needs `{n}` in the label (e.g. \"web-{n}\") so every instance has its own label"
        ]
    );
    let e = errors("p.toml", &GOOD.replace("label = \"web-1\"", "label = \"web-{n}\"\ncount = 0"));
    assert_eq!(e, ["p.toml:6:9: `count`: expected a whole number from 1 to 100"]);
    let two = format!(
        "{GOOD}\n[[instance]]\nlabel = \"web-{{n}}\"\ncount = 2\nregion = \"syd\"\nplan = \"small\"\nimage = 1\n"
    );
    let e = errors("p.toml", &two);
    assert_eq!(e, ["p.toml:14:9: `label`: label `web-1` is used twice (first at line 5)"]);
}

#[test]
fn files_without_an_extension_are_sniffed() {
    assert_eq!(ok("recipe", RECIPE).instances.len(), 1);
    assert_eq!(ok("plan", GOOD).instances.len(), 1);
}

mod robustness {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn the_toml_parser_never_panics(text in "\\PC{0,400}") {
            let _ = parse(Path::new("p.toml"), &text, REGISTRY);
        }

        #[test]
        fn the_legacy_parser_never_panics(text in "([a-zA-Z_]{0,10}:? ?[\\PC]{0,30}\n){0,12}") {
            let _ = parse(Path::new("r.txt"), &text, REGISTRY);
        }

        #[test]
        fn near_valid_toml_never_panics(extra in "[a-z_]{1,12} = (true|1|\"x\"|\\[1, \"a\"\\]|\\{a = 1\\}|1979-05-27)") {
            let _ = parse(Path::new("p.toml"), &format!("{GOOD}{extra}\n"), REGISTRY);
        }
    }
}
