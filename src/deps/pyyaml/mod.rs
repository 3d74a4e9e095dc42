//! YAML and JSON text exactly as dbt's Python writes them, so the files
//! `sluice deps` writes are byte-for-byte those `dbt deps` writes and its
//! lock hash is dbt's.
//!
//! [`dump`] follows PyYAML's `yaml.dump(data, Dumper=dbtPackageDumper)`
//! (dbt's `task/deps.py`): block style, keys sorted, two-space indent with
//! list items indented under their key, PyYAML's choice between plain,
//! single-quoted and double-quoted scalars (a string that would read back
//! as another type, `1.0`, `yes`, `~`, is quoted) and its folding of long
//! plain and single-quoted scalars at 80 columns. [`json_dumps`] follows
//! Python's `json.dumps(value, sort_keys=True)`.
//!
//! The emitter is in `emitter`, the choices for one scalar in `scalar`,
//! the JSON writer in `json`.

mod emitter;
mod json;
mod scalar;

pub use crate::deps::pyyaml::emitter::dump;
pub use crate::deps::pyyaml::json::json_dumps;

#[cfg(test)]
mod tests {
    use serde_json::Value as Json;
    use serde_yaml::Value;

    use super::*;

    /// The expected text was written by PyYAML 6.0.3 with dbt's
    /// `dbtPackageDumper` (`yaml.dump(doc, Dumper=..., default_flow_style=False)`)
    /// from the same document.
    #[test]
    fn dump_matches_pyyaml() {
        let doc: Value = serde_yaml::from_str(
            r##"
packages:
  - local: "a very long path with spaces a very long path with spaces a very long path with spaces a very long path with spaces a very long path with spaces "
    name: x
  - package: a/b
    version: [">=1.0.0", "<2.0.0"]
  - git: x
    revision: "1.0"
    subdirectory: ""
    warn-unpinned: false
sha1_hash: abc
top: "word word word word word word word word word word word word word word word word word word word word word word word word word end"
e: []
m: {}
n: null
i: 3
f: 1.5
q: "it's"
t: "tab\there"
u: "café"
y: "yes"
c: "# x"
d: "-"
k: "a: b"
z: "2024-01-01"
o: "0755"
h: "0x1F"
dot: "1.0"
ver: "1.3.0"
sha: "1234567"
tl: "~"
col: ":x"
nl: "a\nb"
"##,
        )
        .unwrap();
        let expected = r##"c: '# x'
col: :x
d: '-'
dot: '1.0'
e: []
f: 1.5
h: '0x1F'
i: 3
k: 'a: b'
m: {}
n: null
nl: 'a

  b'
o: '0755'
packages:
  - local: 'a very long path with spaces a very long path with spaces a very long
      path with spaces a very long path with spaces a very long path with spaces '
    name: x
  - package: a/b
    version:
      - '>=1.0.0'
      - <2.0.0
  - git: x
    revision: '1.0'
    subdirectory: ''
    warn-unpinned: false
q: it's
sha: '1234567'
sha1_hash: abc
t: "tab\there"
tl: '~'
top: word word word word word word word word word word word word word word word word
  word word word word word word word word word end
u: "caf\xE9"
ver: 1.3.0
y: 'yes'
z: '2024-01-01'
"##;
        assert_eq!(dump(&doc), expected);
    }

    #[test]
    fn json_dumps_matches_python() {
        let v: Json = serde_json::json!({"version": "0.4.7", "package": "a/b", "install_prerelease": false, "x": null, "l": ["é", 1, 1.0, 1e20]});
        assert_eq!(
            json_dumps(&v),
            r#"{"install_prerelease": false, "l": ["\u00e9", 1, 1.0, 1e+20], "package": "a/b", "version": "0.4.7", "x": null}"#
        );
    }
}
