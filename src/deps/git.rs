//! `git:` and `private:` packages, through the `git` binary, as dbt's
//! `clients/git.py`: a shallow clone of the default branch (sparse, with
//! `--filter=blob:none`, when the package lives in a `subdirectory:`),
//! then a fetch of the revision (a commit sha directly; a tag or branch
//! with `--tags`, tags winning over branches of the same name) and a hard
//! reset to it. The checked-out commit sha is what package-lock.yml pins.
//!
//! `private:` packages become git URLs as dbt builds them: from
//! `DBT_ENV_PRIVATE_GIT_PROVIDER_INFO` (a JSON list of `{org, url, token,
//! provider}`) when set, else the provider's SSH URL
//! (`git@github.com:org/repo.git`).

use std::path::Path;
use std::process::Command;

use serde_json::Value as Json;

use crate::error::{Error, ErrorKind, Result};

/// Whether `revision` is a full commit sha (dbt's `_is_commit`).
pub fn is_commit(revision: &str) -> bool {
    revision.len() == 40
        && revision
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

/// Runs `git args` in `cwd` (C locale, no credential prompts) and returns
/// its stdout.
///
/// Errors: [`ErrorKind::Io`] when git is missing or the command fails,
/// naming the package (`what`) and the URL shown to users (`shown_url`,
/// the URL as written, so a rendered token is not printed).
fn git(cwd: &Path, args: &[&str], what: &str, shown_url: &str, revision: &str) -> Result<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(cwd)
        .env("LC_ALL", "C")
        .env("GIT_TERMINAL_PROMPT", "0")
        .output()
        .map_err(|e| {
            Error::new(
                ErrorKind::Io,
                format!("could not run `git` for package `{what}`: {e}"),
            )
            .with_hint("install git and make sure it is on PATH (sluice runs the `git` binary for `git:` packages)")
        })?;
    if out.status.success() {
        return Ok(String::from_utf8_lossy(&out.stdout).into_owned());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let detail: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("hint:"))
        .take(3)
        .collect();
    Err(Error::new(
        ErrorKind::Io,
        format!(
            "could not check out revision `{revision}` of git package `{what}` from `{shown_url}`: {}",
            detail.join("; ")
        ),
    )
    .with_hint(format!(
        "check the URL and that `{revision}` is a tag, branch or commit of it (`git ls-remote {shown_url}`); nothing was installed or changed"
    )))
}

/// Clones `url` into `dest` (which must not exist; its parent must) at
/// `revision` (`HEAD` for the default branch), sparse to `subdirectory`
/// when given, and returns the commit sha checked out. `shown_url` is the
/// URL as written, for messages; `what` names the package.
///
/// Errors: [`ErrorKind::Io`] for a missing git, an unreachable repository,
/// an unknown revision, or a subdirectory checkout that fails.
pub fn clone_and_checkout(
    url: &str,
    shown_url: &str,
    revision: &str,
    subdirectory: Option<&str>,
    dest: &Path,
    what: &str,
) -> Result<String> {
    let parent = dest.parent().unwrap_or(Path::new("."));
    let dest_s = dest.to_string_lossy().into_owned();
    let mut clone = vec!["clone", "--quiet", "--depth", "1"];
    if subdirectory.is_some() {
        clone.extend(["--filter=blob:none", "--sparse"]);
    }
    clone.extend([url, dest_s.as_str()]);
    git(parent, &clone, what, shown_url, revision)?;
    if let Some(sub) = subdirectory {
        git(
            dest,
            &["sparse-checkout", "set", sub],
            what,
            shown_url,
            revision,
        )?;
    }
    let spec = if is_commit(revision) {
        git(
            dest,
            &["fetch", "--quiet", "origin", "--depth", "1", revision],
            what,
            shown_url,
            revision,
        )?;
        revision.to_owned()
    } else {
        git(
            dest,
            &["remote", "set-branches", "origin", revision],
            what,
            shown_url,
            revision,
        )?;
        git(
            dest,
            &[
                "fetch", "--quiet", "origin", "--depth", "1", "--tags", revision,
            ],
            what,
            shown_url,
            revision,
        )?;
        let tags = git(dest, &["tag", "--list"], what, shown_url, revision)?;
        if tags.lines().any(|t| t.trim() == revision) {
            format!("tags/{revision}")
        } else {
            format!("origin/{revision}")
        }
    };
    git(
        dest,
        &["reset", "--quiet", "--hard", &spec],
        what,
        shown_url,
        revision,
    )?;
    let sha = git(dest, &["rev-parse", "HEAD"], what, shown_url, revision)?;
    Ok(sha.trim().to_owned())
}

/// The git URL of `private: org/repo` with `provider`, as dbt's
/// `PrivatePackageHelper`: the first entry of
/// `DBT_ENV_PRIVATE_GIT_PROVIDER_INFO` whose `org` (and `provider`, when
/// given) match, its `url` filled with `{token}`, `{repo}` and
/// `{group}`/`{project}`; without that variable, the provider's SSH URL.
///
/// Errors: [`ErrorKind::Config`] for an unknown provider, an Azure DevOps
/// name without a project part, malformed provider info, or no match.
pub fn private_url(private: &str, provider: Option<&str>) -> Result<String> {
    let info = std::env::var("DBT_ENV_PRIVATE_GIT_PROVIDER_INFO").unwrap_or_default();
    let parts: Vec<&str> = private.split('/').collect();
    if parts.len() < 2 {
        return Err(Error::new(
            ErrorKind::Config,
            format!("private package `{private}` is not named `org/repo`"),
        )
        .with_hint("write `private: my-org/my-repo`"));
    }
    let ado = |p: &str| matches!(p, "ado" | "azure_devops" | "azure_active_directory");
    let known = |p: &str| p == "github" || p == "gitlab" || ado(p);
    if let Some(p) = provider.filter(|p| !known(p)) {
        return Err(Error::new(
            ErrorKind::Config,
            format!("private package `{private}` names unknown provider `{p}`"),
        )
        .with_hint("use `github` (the default), `gitlab` or `ado`"));
    }
    if info.trim().is_empty() || info.trim() == "[]" {
        return match provider.unwrap_or("github") {
            "github" => Ok(format!("git@github.com:{private}.git")),
            "gitlab" => Ok(format!("git@gitlab.com:{private}.git")),
            p if parts.len() >= 3 && (p == "ado" || p == "azure_devops") => {
                Ok(format!("git@ssh.dev.azure.com:v3/{private}"))
            }
            p => Err(Error::new(
                ErrorKind::Config,
                format!("the `{p}` provider needs `org/project/repo`, got `{private}`"),
            )
            .with_hint("write the private package as `org/project/repo`")),
        };
    }
    let bad_info = || {
        Error::new(
            ErrorKind::Config,
            "`DBT_ENV_PRIVATE_GIT_PROVIDER_INFO` is not a JSON list of `{org, url, token, provider}`",
        )
        .with_hint(r#"set it as `[{"org": "my-org", "url": "https://{token}@github.com/my-org/{repo}.git", "token": "...", "provider": "github"}]`"#)
    };
    let list: Json = serde_json::from_str(&info).map_err(|_| bad_info())?;
    let Json::Array(repos) = list else {
        return Err(bad_info());
    };
    let org = parts[0];
    let repo = parts[parts.len() - 1];
    let group = parts[1..parts.len() - 1].join("/");
    for entry in &repos {
        let field = |k: &str| entry.get(k).and_then(Json::as_str).unwrap_or("");
        let entry_provider = field("provider");
        let provider_ok = match provider {
            None => true,
            Some(p) if ado(p) => ado(entry_provider),
            Some(p) => p == entry_provider,
        };
        if field("org") != org || !provider_ok {
            continue;
        }
        return Ok(field("url")
            .replace("{token}", field("token"))
            .replace("{repo}", repo)
            .replace("{group}", &group)
            .replace("{project}", &group));
    }
    Err(Error::new(
        ErrorKind::Config,
        format!(
            "no entry of `DBT_ENV_PRIVATE_GIT_PROVIDER_INFO` matches private package `{private}`{}",
            provider
                .map(|p| format!(" with provider `{p}`"))
                .unwrap_or_default()
        ),
    )
    .with_hint(format!("add an entry with `\"org\": \"{org}\"` to it")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_packages_fall_back_to_ssh_urls_as_dbt() {
        // Run without provider info (the variable is not set in tests).
        if std::env::var_os("DBT_ENV_PRIVATE_GIT_PROVIDER_INFO").is_some() {
            return;
        }
        assert_eq!(
            private_url("org/repo", None).unwrap(),
            "git@github.com:org/repo.git"
        );
        assert_eq!(
            private_url("org/repo", Some("gitlab")).unwrap(),
            "git@gitlab.com:org/repo.git"
        );
        assert_eq!(
            private_url("org/proj/repo", Some("ado")).unwrap(),
            "git@ssh.dev.azure.com:v3/org/proj/repo"
        );
        assert!(private_url("org/repo", Some("ado")).is_err());
        assert!(private_url("org/repo", Some("bitbucket")).is_err());
    }

    #[test]
    fn commit_is_forty_lowercase_hex() {
        assert!(is_commit("53782f3ede8fdf307ee1d8e418aa65733a4b72fa"));
        assert!(!is_commit("v1.0.0"));
        assert!(!is_commit("53782F3EDE8FDF307EE1D8E418AA65733A4B72FA"));
    }
}
