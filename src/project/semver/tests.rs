//! Cases from dbt-common's tests/unit/test_semver.py, pinning dbt's
//! rules (dbt-common main, 2026), with the reduced range checked
//! exactly (dbt's own assertions compare ranges loosely).

use super::*;

fn reduce_str(specs: &[&str]) -> Result<String, NotCompatible> {
    let specs: Vec<Spec> = specs.iter().map(|s| Spec::parse(s).unwrap()).collect();
    reduce(&specs).map(|r| r.to_string())
}

/// Every order of `specs` reduces to `expected` (dbt tests all permutations).
fn assert_reduces(specs: &[&str], expected: &str) {
    for perm in permutations(specs) {
        assert_eq!(reduce_str(&perm).as_deref(), Ok(expected), "{perm:?}");
    }
}

fn assert_incompatible(specs: &[&str]) {
    for perm in permutations(specs) {
        assert_eq!(reduce_str(&perm), Err(NotCompatible), "{perm:?}");
    }
}

fn permutations<'a>(items: &[&'a str]) -> Vec<Vec<&'a str>> {
    if items.len() <= 1 {
        return vec![items.to_vec()];
    }
    let mut out = Vec::new();
    for i in 0..items.len() {
        let mut rest = items.to_vec();
        let first = rest.remove(i);
        for mut p in permutations(&rest) {
            p.insert(0, first);
            out.push(p);
        }
    }
    out
}

#[test]
fn parses_dbt_semver_and_rejects_the_rest() {
    for ok in [
        "0.0.4",
        "1.1.2-prerelease+meta",
        "1.1.2+meta-valid",
        "1.0.0-alpha.beta.1",
        "1.0.0-alpha.0valid",
        "1.2.3----RC-SNAPSHOT.12.9.1--.12+788",
        "99999999999999999999999.999999999999999999.99999999999999999",
        "1.0.0-0A.is.legal",
        "0.4.5a1",
        ">=1.0.0",
        "<=2.0.0-rc.1",
    ] {
        assert!(Spec::parse(ok).is_ok(), "{ok}");
    }
    for bad in [
        "1",
        "1.2",
        "alpha",
        "01.1.1",
        "1.2.3.DEV",
        "9.8.7+meta+meta",
        "v1.0.0",
        "1.0.0-alpha..1",
        "1.2.3-0123.0123",
        "1.0.0-alpha_beta",
        "~>1.0.0",
    ] {
        assert!(Spec::parse(bad).is_err(), "{bad}");
    }
    // Python's regex quirks, kept: the `-` is optional, so `1.1.01` is
    // patch 0 with pre-release `1`, and `1.2.3-0123` has pre-release `-0123`.
    let quirk = Spec::parse("1.1.01").unwrap();
    assert_eq!(quirk.version_string(), "1.1.0-1");
    assert_eq!(
        Spec::parse("1.2.3-0123").unwrap().prerelease.as_deref(),
        Some("-0123")
    );
}

#[test]
fn reduce_versions_as_dbt() {
    assert_reduces(&["0.0.1", "0.0.1"], "=0.0.1, =0.0.1");
    assert_reduces(&["0.0.1"], "=0.0.1, =0.0.1");
    assert_reduces(&[">0.0.1"], ">0.0.1");
    assert_reduces(&["<0.0.1"], "<0.0.1");
    assert_reduces(&[">0.0.1", "0.0.2"], "=0.0.2, =0.0.2");
    assert_reduces(&["0.0.2", ">=0.0.2"], "=0.0.2, =0.0.2");
    assert_reduces(&[">0.0.1", ">0.0.2", ">0.0.3"], ">0.0.3");
    assert_reduces(&[">0.0.1", "<0.0.3"], ">0.0.1, <0.0.3");
    assert_reduces(&[">0.0.1", "0.0.2", "<0.0.3"], "=0.0.2, =0.0.2");
    assert_reduces(&[">0.0.1", ">=0.0.1", "<0.0.3"], ">0.0.1, <0.0.3");
    assert_reduces(&[">0.0.1", "<0.0.3", "<=0.0.3"], ">0.0.1, <0.0.3");
    assert_reduces(&[">0.0.1", ">0.0.2", "<0.0.3", "<0.0.4"], ">0.0.2, <0.0.3");
    assert_reduces(&["<=0.0.3", ">=0.0.3"], ">=0.0.3, <=0.0.3");
    assert_incompatible(&[">0.0.2", "0.0.1"]);
    assert_incompatible(&[">0.0.2", "0.0.2"]);
    assert_incompatible(&["<0.0.2", "0.0.2"]);
    assert_incompatible(&["<0.0.2", ">0.0.3"]);
    assert_incompatible(&["<=0.0.3", ">0.0.3"]);
    assert_incompatible(&["<0.0.3", ">=0.0.3"]);
    assert_incompatible(&["<0.0.3", ">0.0.3"]);
    // dbt-core issue 7039: 10 is above 9.
    assert_reduces(&[">0.9.0", "<0.10.0"], ">0.9.0, <0.10.0");
}

fn range(start: Option<&str>, end: Option<&str>) -> Range {
    let p = |s: Option<&str>| s.map_or_else(Spec::unbounded, |s| Spec::parse(s).unwrap());
    Range {
        start: p(start),
        end: p(end),
    }
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn resolve_to_specific_version_as_dbt() {
    let r = |s, e, avail: &[&str]| {
        resolve_to_specific_version(&range(s, e), &strings(avail)).map(str::to_owned)
    };
    assert_eq!(
        r(Some(">0.0.1"), None, &["0.0.1", "0.0.2"]).as_deref(),
        Some("0.0.2")
    );
    assert_eq!(
        r(Some(">=0.0.2"), None, &["0.0.1", "0.0.2"]).as_deref(),
        Some("0.0.2")
    );
    assert_eq!(r(Some(">=0.0.3"), None, &["0.0.1", "0.0.2"]), None);
    assert_eq!(
        r(
            Some(">=0.0.3"),
            Some("<0.0.5"),
            &["0.0.3", "0.0.4", "0.0.5"]
        )
        .as_deref(),
        Some("0.0.4")
    );
    assert_eq!(
        r(None, Some("<=0.0.5"), &["0.0.3", "0.1.4", "0.0.5"]).as_deref(),
        Some("0.0.5")
    );
    assert_eq!(
        r(Some("=0.4.5a2"), Some("=0.4.5a2"), &["0.4.5a1", "0.4.5a2"]).as_deref(),
        Some("0.4.5a2")
    );
    assert_eq!(
        r(Some("=0.7.6"), Some("=0.7.6"), &["0.7.6-b1", "0.7.6"]).as_deref(),
        Some("0.7.6")
    );
    assert_eq!(
        r(
            Some(">=1.0.0"),
            None,
            &["1.0.0", "1.1.0a1", "1.1.0", "1.2.0a1"]
        )
        .as_deref(),
        Some("1.2.0a1")
    );
    // The `<` bound keeps out the pre-release of its own version.
    assert_eq!(
        r(
            Some(">=1.0.0"),
            Some("<1.2.0"),
            &["1.0.0", "1.1.0a1", "1.1.0", "1.2.0a1"]
        )
        .as_deref(),
        Some("1.1.0")
    );
    assert_eq!(
        r(
            Some(">0.9.0"),
            Some("<0.10.0"),
            &["0.9.0", "0.9.1", "0.10.0"]
        )
        .as_deref(),
        Some("0.9.1")
    );
}

#[test]
fn filter_installable_as_dbt() {
    let all = strings(&[
        "1.1.0",
        "1.2.0a1",
        "1.0.0",
        "2.1.0-alpha",
        "2.2.0asdf",
        "2.1.0",
        "2.2.0",
        "2.2.0-fishtown-beta",
        "2.2.0-2",
    ]);
    assert_eq!(
        filter_installable(&all, true),
        strings(&[
            "1.0.0",
            "1.1.0",
            "1.2.0a1",
            "2.1.0-alpha",
            "2.1.0",
            "2.2.0-2",
            "2.2.0asdf",
            "2.2.0-fishtown-beta",
            "2.2.0",
        ])
    );
    assert_eq!(
        filter_installable(&all, false),
        strings(&["1.0.0", "1.1.0", "2.1.0", "2.2.0"])
    );
}

#[test]
fn versions_compatible_as_dbt() {
    let compatible = |a: &str, b: &str| reduce_str(&[a, b]).is_ok();
    assert!(compatible("0.0.1", "0.0.1"));
    assert!(!compatible("0.0.1", "0.0.2"));
    assert!(compatible(">0.0.1", "0.0.2"));
    assert!(!compatible("0.4.5a1", "0.4.5a2"));
}
