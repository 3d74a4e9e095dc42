//! Version ranges of packages (hub `version:`, `require-dbt-version`), with dbt's rules (dbt-common's
//! `dbt_common/semver.py`): a specifier is an optional matcher (`=`, `>`,
//! `>=`, `<`, `<=`) and a semantic version; several specifiers reduce to one
//! range (`reduce_versions`) or fail as incompatible; a range resolves to
//! the highest available version in it (`resolve_to_specific_version`);
//! pre-releases are dropped unless asked for (`filter_installable`).
//!
//! dbt's comparison is not plain semver: a `<` bound sorts a pre-release of
//! its own version above it (so `<2.0.0` excludes `2.0.0-rc1`), the build
//! part is ignored, and pre-release tags compare numerically where both are
//! numbers. This module keeps those rules so sluice picks the versions
//! dbt picks.

use std::cmp::Ordering;
use std::fmt;
use std::sync::OnceLock;

use regex::Regex;

/// Whether `version` satisfies every range of `ranges` together, as dbt's
/// `is_compatible_version` checks `require-dbt-version`. An empty list, or
/// a range or version that does not parse, admits (no false refusals).
pub fn admits(ranges: &[String], version: &str) -> bool {
    let mut specs = Vec::new();
    for r in ranges {
        match Spec::parse(r) {
            Ok(s) => specs.push(s),
            Err(_) => return true,
        }
    }
    if specs.is_empty() {
        return true;
    }
    let Ok(version) = Spec::parse(version) else {
        return true;
    };
    specs.push(version);
    reduce(&specs).is_ok()
}

/// A version comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Matcher {
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `=` (also no operator)
    Exact,
}

impl Matcher {
    fn as_str(self) -> &'static str {
        match self {
            Matcher::Gt => ">",
            Matcher::Ge => ">=",
            Matcher::Lt => "<",
            Matcher::Le => "<=",
            Matcher::Exact => "=",
        }
    }
}

/// One version specifier (`>=1.0.0`, `1.3.0`, `2.0.0-rc1`), or the
/// unbounded end of a range, as dbt's `VersionSpecifier` and
/// `UnboundedVersionSpecifier`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    /// The operator.
    pub matcher: Matcher,
    /// Major, minor and patch as written (dbt keeps them as text).
    pub numbers: Option<[String; 3]>,
    /// Pre-release tag, without the `-`.
    pub prerelease: Option<String>,
    /// Build metadata, without the `+`.
    pub build: Option<String>,
}

/// A version string that is not dbt's semantic version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SemverError(
    /// The text that failed to parse.
    pub String,
);

impl fmt::Display for SemverError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` is not a valid semantic version", self.0)
    }
}

/// Ranges that no version satisfies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotCompatible;

fn version_regex() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        // dbt-common's `_VERSION_REGEX`: the `-` before a pre-release is
        // optional (`0.4.5a1`), numbers have no leading zeros.
        let num = r"(0|[1-9]\d*)";
        let alnum = r"(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)";
        let alpha = r"[0-9A-Za-z-]*";
        let pattern = format!(
            r"^(?P<matcher>>=|>|<=|<|=)?(?P<major>{num})\.(?P<minor>{num})\.(?P<patch>{num})(?:-?(?P<prerelease>{alnum}(?:\.{alnum})*))?(?:\+(?P<build>{alpha}(?:\.{alpha})*))?$"
        );
        Regex::new(&pattern).unwrap_or_else(|e| unreachable!("static regex: {e}"))
    })
}

impl Spec {
    /// The unbounded end of a range (`*`).
    pub fn unbounded() -> Spec {
        Spec {
            matcher: Matcher::Exact,
            numbers: None,
            prerelease: None,
            build: None,
        }
    }

    /// Parses `>=1.0.0`, `1.3.0`, `<2.0.0-rc.1+build`, as dbt's
    /// `VersionSpecifier.from_version_string`.
    ///
    /// Errors: [`SemverError`] for anything else (`1.0`, `v1.0.0`, `01.0.0`).
    pub fn parse(text: &str) -> Result<Spec, SemverError> {
        let caps = version_regex()
            .captures(text)
            .ok_or_else(|| SemverError(text.to_owned()))?;
        let get = |n: &str| caps.name(n).map(|m| m.as_str().to_owned());
        let matcher = match caps.name("matcher").map(|m| m.as_str()) {
            Some(">") => Matcher::Gt,
            Some(">=") => Matcher::Ge,
            Some("<") => Matcher::Lt,
            Some("<=") => Matcher::Le,
            _ => Matcher::Exact,
        };
        Ok(Spec {
            matcher,
            numbers: Some([
                get("major").unwrap_or_default(),
                get("minor").unwrap_or_default(),
                get("patch").unwrap_or_default(),
            ]),
            // Python's regex groups match an empty pre-release as "" which
            // dbt then treats as none (`if self.prerelease`).
            prerelease: get("prerelease").filter(|p| !p.is_empty()),
            build: get("build").filter(|b| !b.is_empty()),
        })
    }

    /// Whether this is the unbounded end of a range.
    pub fn is_unbounded(&self) -> bool {
        self.numbers.is_none()
    }

    fn is_lower_bound(&self) -> bool {
        !self.is_unbounded() && matches!(self.matcher, Matcher::Gt | Matcher::Ge)
    }

    fn is_upper_bound(&self) -> bool {
        !self.is_unbounded() && matches!(self.matcher, Matcher::Lt | Matcher::Le)
    }

    fn is_exact(&self) -> bool {
        !self.is_unbounded() && self.matcher == Matcher::Exact
    }

    /// The version without its matcher (`1.3.0-rc1+b`).
    pub fn version_string(&self) -> String {
        let Some([major, minor, patch]) = &self.numbers else {
            return "*".into();
        };
        let mut out = format!("{major}.{minor}.{patch}");
        if let Some(p) = &self.prerelease {
            out.push('-');
            out.push_str(p);
        }
        if let Some(b) = &self.build {
            out.push('+');
            out.push_str(b);
        }
        out
    }

    /// dbt's `VersionSpecifier.compare`: -1, 0 or 1. Unbounded compares
    /// equal to anything; equal versions order by matcher (`<1.0.0` is
    /// below `<=1.0.0`, an upper bound below a lower bound).
    pub fn compare(&self, other: &Spec) -> i8 {
        let (Some(a), Some(b)) = (&self.numbers, &other.numbers) else {
            return 0;
        };
        for (x, y) in a.iter().zip(b.iter()) {
            match cmp_numeric(x, y) {
                Ordering::Greater => return 1,
                Ordering::Less => return -1,
                Ordering::Equal => {}
            }
        }
        match (&self.prerelease, &other.prerelease) {
            (None, None) => {}
            // A stable release is above a pre-release, except as a `<`
            // bound: `<2.0.0` must keep `2.0.0-rc1` out.
            (None, Some(_)) => return if self.matcher == Matcher::Lt { -1 } else { 1 },
            (Some(_), None) => return -1,
            (Some(x), Some(y)) => match nat_cmp(x, y) {
                Ordering::Greater => return 1,
                Ordering::Less => return -1,
                Ordering::Equal => {}
            },
        }
        use Matcher::*;
        let (m, o) = (self.matcher, other.matcher);
        if (m == Ge && o == Le) || (m == Le && o == Ge) {
            return 0;
        }
        if (m == Lt && o == Le)
            || (o == Gt && m == Ge)
            || (self.is_upper_bound() && other.is_lower_bound())
        {
            return -1;
        }
        if (o == Lt && m == Le)
            || (m == Gt && o == Ge)
            || (self.is_lower_bound() && other.is_upper_bound())
        {
            return 1;
        }
        0
    }

    /// The range of one specifier, as dbt's `to_range`.
    fn to_range(&self) -> Range {
        match self.matcher {
            _ if self.is_unbounded() => Range::any(),
            Matcher::Exact => Range {
                start: self.clone(),
                end: self.clone(),
            },
            Matcher::Gt | Matcher::Ge => Range {
                start: self.clone(),
                end: Spec::unbounded(),
            },
            Matcher::Lt | Matcher::Le => Range {
                start: Spec::unbounded(),
                end: self.clone(),
            },
        }
    }
}

impl fmt::Display for Spec {
    /// With the matcher, as dbt prints a specifier (`=1.0.0`, `>=1.0.0`, `*`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_unbounded() {
            return f.write_str("*");
        }
        write!(f, "{}{}", self.matcher.as_str(), self.version_string())
    }
}

/// Compares two digit strings as numbers of any length.
fn cmp_numeric(a: &str, b: &str) -> Ordering {
    let a = a.trim_start_matches('0');
    let b = b.trim_start_matches('0');
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// dbt-common's `_nat_cmp` of pre-release tags: dot-separated parts,
/// numbers below words and compared as numbers, words compared as text;
/// when one is a prefix of the other, the shorter tag is lower.
fn nat_cmp(a: &str, b: &str) -> Ordering {
    let is_num = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
    for (x, y) in a.split('.').zip(b.split('.')) {
        let ord = match (is_num(x), is_num(y)) {
            (true, true) => cmp_numeric(x, y),
            (true, false) => Ordering::Less,
            (false, true) => Ordering::Greater,
            (false, false) => x.cmp(y),
        };
        if ord != Ordering::Equal {
            return ord;
        }
    }
    a.len().cmp(&b.len())
}

/// A range of versions: a lower and an upper bound, either unbounded, as
/// dbt's `VersionRange`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Range {
    /// Lower bound (or an exact version, or unbounded).
    pub start: Spec,
    /// Upper bound (or the same exact version, or unbounded).
    pub end: Spec,
}

impl Range {
    /// Every version.
    pub fn any() -> Range {
        Range {
            start: Spec::unbounded(),
            end: Spec::unbounded(),
        }
    }

    fn combine_lower_with_exact(lower: &Spec, exact: &Spec) -> Result<Spec, NotCompatible> {
        let c = lower.compare(exact);
        if c < 0 || (c == 0 && lower.matcher == Matcher::Ge) {
            Ok(exact.clone())
        } else {
            Err(NotCompatible)
        }
    }

    fn combine_upper_with_exact(upper: &Spec, exact: &Spec) -> Result<Spec, NotCompatible> {
        let c = upper.compare(exact);
        if c > 0 || (c == 0 && upper.matcher == Matcher::Le) {
            Ok(exact.clone())
        } else {
            Err(NotCompatible)
        }
    }

    fn combine_lower(a: &Spec, b: &Spec) -> Result<Spec, NotCompatible> {
        if b.is_unbounded() {
            return Ok(a.clone());
        }
        if a.is_unbounded() {
            return Ok(b.clone());
        }
        if !(a.is_exact() || b.is_exact()) {
            Ok(if a.compare(b) < 0 {
                b.clone()
            } else {
                a.clone()
            })
        } else if a.is_exact() {
            Range::combine_lower_with_exact(b, a)
        } else {
            Range::combine_lower_with_exact(a, b)
        }
    }

    fn combine_upper(a: &Spec, b: &Spec) -> Result<Spec, NotCompatible> {
        if b.is_unbounded() {
            return Ok(a.clone());
        }
        if a.is_unbounded() {
            return Ok(b.clone());
        }
        if !(a.is_exact() || b.is_exact()) {
            Ok(if a.compare(b) > 0 {
                b.clone()
            } else {
                a.clone()
            })
        } else if a.is_exact() {
            Range::combine_upper_with_exact(b, a)
        } else {
            Range::combine_upper_with_exact(a, b)
        }
    }

    /// The intersection of two ranges, as dbt's `VersionRange.reduce`.
    ///
    /// Errors: [`NotCompatible`] when it is empty.
    pub fn reduce(&self, other: &Range) -> Result<Range, NotCompatible> {
        let (start, end) = if self.start.is_exact() && other.start.is_exact() {
            if self.start.compare(&other.start) != 0 {
                return Err(NotCompatible);
            }
            (self.start.clone(), self.start.clone())
        } else {
            (
                Range::combine_lower(&self.start, &other.start)?,
                Range::combine_upper(&self.end, &other.end)?,
            )
        };
        if start.compare(&end) > 0 {
            return Err(NotCompatible);
        }
        Ok(Range { start, end })
    }

    /// Whether `version` (an exact version) lies in this range, as dbt's
    /// `versions_compatible(version, range.start, range.end)`.
    pub fn contains(&self, version: &Spec) -> bool {
        reduce(&[version.clone(), self.start.clone(), self.end.clone()]).is_ok()
    }
}

impl fmt::Display for Range {
    /// As dbt prints a range: `>=1.0.0, <2.0.0`, `=1.3.0, =1.3.0`, `ANY`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = [&self.start, &self.end]
            .into_iter()
            .filter(|s| !s.is_unbounded())
            .map(ToString::to_string)
            .collect();
        if parts.is_empty() {
            return f.write_str("ANY");
        }
        f.write_str(&parts.join(", "))
    }
}

/// Reduces specifiers to one range, as dbt's `reduce_versions`: unbounded
/// ones are skipped, the last is the starting range and the others are
/// intersected with it in order. None at all is [`Range::any`].
///
/// Errors: [`NotCompatible`] when no version satisfies them all.
pub fn reduce(specs: &[Spec]) -> Result<Range, NotCompatible> {
    let mut bounded: Vec<&Spec> = specs.iter().filter(|s| !s.is_unbounded()).collect();
    let Some(last) = bounded.pop() else {
        return Ok(Range::any());
    };
    let mut range = last.to_range();
    for spec in bounded {
        range = range.reduce(&spec.to_range())?;
    }
    Ok(range)
}

/// The highest of `available` (version strings) inside `range`, as dbt's
/// `resolve_to_specific_version`; versions that do not parse are skipped.
pub fn resolve_to_specific_version<'a>(range: &Range, available: &'a [String]) -> Option<&'a str> {
    let mut best: Option<(Spec, &str)> = None;
    for text in available {
        let Ok(version) = Spec::parse(text) else {
            continue;
        };
        if range.contains(&version) && best.as_ref().is_none_or(|(b, _)| b.compare(&version) < 0) {
            best = Some((version, text.as_str()));
        }
    }
    best.map(|(_, t)| t)
}

/// The versions that may be installed, lowest first, as dbt's
/// `filter_installable`: pre-releases only when `install_prerelease`;
/// versions that do not parse are skipped.
pub fn filter_installable(versions: &[String], install_prerelease: bool) -> Vec<String> {
    let mut kept: Vec<(Spec, &String)> = versions
        .iter()
        .filter_map(|v| Spec::parse(v).ok().map(|s| (s, v)))
        .filter(|(s, _)| install_prerelease || s.prerelease.is_none())
        .collect();
    // A stable sort, as Python's `sorted`.
    kept.sort_by(|(a, _), (b, _)| a.compare(b).cmp(&0));
    kept.into_iter().map(|(_, v)| v.clone()).collect()
}

#[cfg(test)]
mod tests;
