//! Model contracts and constraints (issue 17), end to end: the real binary
//! on temp copies of tests/projects/contracts with a real DuckDB file.
//! Each test names the dbt behaviour it pins.

mod common;

use common::{scrub, TempProject};

/// The dbt message every contract failure starts with.
const FAILED: &str = "This model has an enforced contract that failed.";

/// A temp project whose model `people_t` has `sql` and whose schema YAML
/// describes it with `entry` (the YAML of one `models:` item, unindented).
fn project(sql: &str, entry: &str) -> TempProject {
    let p = TempProject::copy_of("tests/projects/contracts");
    p.write("models/people_t.sql", sql);
    set_yaml(&p, entry);
    p
}

/// Replaces `people_t`'s schema YAML entry with `entry`.
fn set_yaml(p: &TempProject, entry: &str) {
    let indented: String = entry.lines().map(|l| format!("  {l}\n")).collect();
    p.write(
        "models/schema.yml",
        &format!("models:\n  - name: src_people\n{indented}"),
    );
}

const TABLE_OVER_VALUES: &str =
    "{{ config(materialized='table') }}\nselect * from {{ ref('src_people') }}\n";

/// A contract `src_people`'s columns satisfy, in another order and with
/// other spellings of the types, with a constraint of each kind.
const GOOD: &str = "- name: people_t
  config:
    contract: {enforced: true}
  constraints:
    - type: unique
      columns: [name]
  columns:
    - name: name
      data_type: text
    - name: ID
      data_type: int4
      constraints:
        - type: not_null
        - type: primary_key
    - name: amount
      data_type: numeric(4,2)
      constraints:
        - type: check
          expression: amount > 0
";

fn rows(p: &TempProject) -> Vec<Vec<Option<String>>> {
    p.table("main.people_t")
}

fn done_line(stderr: &str) -> &str {
    stderr
        .lines()
        .rev()
        .find(|l| l.contains("Done."))
        .unwrap_or("")
}

#[test]
fn a_contract_that_matches_builds_a_constrained_table() {
    // Pins dbt's assert_columns_equivalent: columns match by name in any
    // order and case, and `int4`/`text`/`numeric` match what DuckDB reports;
    // and dbt-duckdb's create_table_as with a contract: the table carries the
    // declared types and constraints. A second build swaps it in again.
    let p = project(TABLE_OVER_VALUES, GOOD);
    for _ in 0..2 {
        let run = p.sluice(&["build"]);
        assert_eq!(run.code, 0, "{}", run.stderr);
    }
    assert_eq!(rows(&p).len(), 3);
    let kinds = p.query(
        "select constraint_type from duckdb_constraints() where table_name = 'people_t' order by all",
    );
    let kinds: Vec<&str> = kinds.iter().map(|r| r[0].as_deref().unwrap()).collect();
    for kind in ["CHECK", "NOT NULL", "PRIMARY KEY", "UNIQUE"] {
        assert!(kinds.contains(&kind), "{kind} not in {kinds:?}");
    }
    assert_eq!(
        p.query("select data_type from information_schema.columns where table_name = 'people_t' and column_name = 'amount'")[0][0]
            .as_deref(),
        Some("DECIMAL(4,2)")
    );
    // manifest.json carries the contract and constraints in dbt's shape.
    let manifest: serde_json::Value =
        serde_json::from_str(&p.read("target/manifest.json")).unwrap();
    let node = &manifest["nodes"]["model.contracts.people_t"];
    assert_eq!(node["contract"]["enforced"], true);
    assert_eq!(node["contract"]["alias_types"], true);
    assert_eq!(
        node["columns"]["ID"]["constraints"][1]["type"],
        "primary_key"
    );
    assert_eq!(
        node["columns"]["ID"]["constraints"][0]["warn_unenforced"],
        true
    );
    assert_eq!(node["constraints"][0]["columns"][0], "name");
    assert_eq!(
        manifest["nodes"]["model.contracts.src_people"]["contract"]["enforced"],
        false
    );
}

#[test]
fn a_wrong_type_fails_before_writing_and_keeps_the_old_table() {
    // Pins dbt's contract failure: the node errors (exit 1) with "This model
    // has an enforced contract that failed" and a `data type mismatch` row,
    // before the model's table is touched.
    let p = project(TABLE_OVER_VALUES, GOOD);
    assert_eq!(p.sluice(&["build", "-q"]).code, 0);
    let before = rows(&p);
    set_yaml(&p, &GOOD.replace("data_type: int4", "data_type: varchar"));
    let run = p.sluice(&["run"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains(FAILED), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("| id          | INTEGER         | VARCHAR       | data type mismatch |"),
        "{}",
        run.stderr
    );
    assert_eq!(rows(&p), before);
    assert!(done_line(&run.stderr).contains("ERROR=1"), "{}", run.stderr);
    // The whole diagnostic, as a user sees it in the run's summary.
    let found = run.stderr.find("error: This model").unwrap();
    let start = run.stderr[..found].rfind('\n').map_or(0, |i| i + 1);
    let end = run.stderr[start..].find("compiled code at").unwrap() + start;
    let diagnostic: String = scrub(&run.stderr[start..end], &p)
        .lines()
        .map(|l| format!("{}\n", l.strip_prefix("  ").unwrap_or(l)))
        .collect();
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../snapshots");
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| insta::assert_snapshot!("contract_failure_at_run", diagnostic.trim_end()));
}

#[test]
fn a_column_the_model_lacks_fails_and_keeps_the_old_table() {
    // Pins dbt's `missing in definition`: the contract declares a column the
    // model does not produce; the number of columns differs.
    let p = project(TABLE_OVER_VALUES, GOOD);
    assert_eq!(p.sluice(&["build", "-q"]).code, 0);
    let before = rows(&p);
    set_yaml(
        &p,
        &format!("{GOOD}    - name: email\n      data_type: varchar\n"),
    );
    let run = p.sluice(&["run"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains(FAILED), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("| email       |                 | VARCHAR       | missing in definition |"),
        "{}",
        run.stderr
    );
    assert_eq!(rows(&p), before);
}

#[test]
fn a_column_the_contract_lacks_fails_and_keeps_the_old_table() {
    // Pins dbt's `missing in contract`: the model produces a column its
    // contract does not declare.
    let p = project(TABLE_OVER_VALUES, GOOD);
    assert_eq!(p.sluice(&["build", "-q"]).code, 0);
    let before = rows(&p);
    p.write(
        "models/people_t.sql",
        "{{ config(materialized='table') }}\nselect *, upper(name) from {{ ref('src_people') }}\n",
    );
    let run = p.sluice(&["run"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains(FAILED), "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "| upper(\"name\") | VARCHAR         |               | missing in contract |"
        ),
        "{}",
        run.stderr
    );
    assert_eq!(rows(&p), before);
}

#[test]
fn a_not_null_violation_fails_and_keeps_the_old_table() {
    // Pins dbt-duckdb's enforced `not_null` constraint: the rows are
    // inserted into a table declared `not null`, DuckDB rejects the NULL and
    // the node errors; sluice's swap keeps yesterday's table.
    let p = project(TABLE_OVER_VALUES, GOOD);
    assert_eq!(p.sluice(&["build", "-q"]).code, 0);
    let before = rows(&p);
    p.write(
        "models/people_t.sql",
        "{{ config(materialized='table') }}\nselect case when id = 2 then null else id end as id, name, amount from {{ ref('src_people') }}\n",
    );
    let run = p.sluice(&["run"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("NOT NULL constraint failed"),
        "{}",
        run.stderr
    );
    assert_eq!(rows(&p), before);
}

#[test]
fn a_check_constraint_is_enforced() {
    // Pins dbt's `check` constraint (`check (<expression>)` in the DDL),
    // which dbt-duckdb marks enforced: a row that fails it fails the node.
    let p = project(
        TABLE_OVER_VALUES,
        &GOOD.replace("expression: amount > 0", "expression: amount > 15"),
    );
    let run = p.sluice(&["run"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("CHECK constraint failed"),
        "{}",
        run.stderr
    );
    assert!(
        p.query("select * from duckdb_tables() where table_name like 'people_t%'")
            .is_empty(),
        "nothing is left behind"
    );
    set_yaml(&p, GOOD);
    assert_eq!(p.sluice(&["run", "-q"]).code, 0);
    assert_eq!(rows(&p).len(), 3);
}

#[test]
fn a_duplicate_primary_key_fails_and_keeps_the_old_table() {
    // Pins dbt's `primary_key` constraint, enforced by DuckDB (dbt-duckdb:
    // ENFORCED): duplicate keys fail the insert.
    let p = project(TABLE_OVER_VALUES, GOOD);
    assert_eq!(p.sluice(&["build", "-q"]).code, 0);
    let before = rows(&p);
    p.write(
        "models/people_t.sql",
        "{{ config(materialized='table') }}\nselect 1 as id, name, amount from {{ ref('src_people') }}\n",
    );
    set_yaml(
        &p,
        &GOOD.replace(
            "  constraints:\n    - type: unique\n      columns: [name]\n",
            "",
        ),
    );
    let run = p.sluice(&["run"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("Duplicate key") || run.stderr.contains("PRIMARY KEY"),
        "{}",
        run.stderr
    );
    assert_eq!(rows(&p), before);
}

#[test]
fn compile_finds_a_broken_contract_without_a_database() {
    // sluice's extension (dbt checks only when the model runs): the columns
    // a model's SQL provably produces are compared at compile time. A node
    // that fails to compile exits 1, as sluice's SQL errors do.
    let p = project(
        "{{ config(materialized='table') }}\nselect id, name, cast(amount as double) as amount\nfrom {{ ref('people') }}\n",
        "- name: people_t
  config:
    contract: {enforced: true}
  columns:
    - name: id
      data_type: integer
    - name: name
      data_type: varchar
    - name: amount
      data_type: decimal(10,2)
    - name: email
      data_type: varchar
",
    );
    let run = p.sluice(&["compile"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(!p.db_path().exists(), "compile needs no database");
    assert!(run.stderr.contains(FAILED), "{}", run.stderr);
    assert!(run.stderr.contains("data type mismatch"), "{}", run.stderr);
    assert!(
        run.stderr.contains("missing in definition"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("= hint: "), "{}", run.stderr);
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../snapshots");
    settings.set_prepend_module_to_snapshot(false);
    let diagnostic = &run.stderr[run.stderr.find("error:").unwrap()..];
    let diagnostic = &diagnostic[..diagnostic
        .rfind("= hint:")
        .map(|i| diagnostic[i..].find('\n').unwrap() + i + 1)
        .unwrap()];
    settings.bind(|| insta::assert_snapshot!("contract_failure_at_compile", scrub(diagnostic, &p)));

    // A column the contract lacks points at the model's SQL.
    p.write(
        "models/people_t.sql",
        "{{ config(materialized='table') }}\nselect id, name, amount::decimal(10,2) as amount, '' as email,\n  1 as extra\nfrom {{ ref('people') }}\n",
    );
    let run = p.sluice(&["compile"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("missing in contract"), "{}", run.stderr);
    assert!(
        run.stderr.contains("--> models/people_t.sql:3:8"),
        "{}",
        run.stderr
    );

    // When it matches, compile passes.
    p.write(
        "models/people_t.sql",
        "{{ config(materialized='table') }}\nselect id, name, amount::decimal(10,2) as amount, '' as email\nfrom {{ ref('people') }}\n",
    );
    let run = p.sluice(&["compile"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
}

#[test]
fn compile_stays_silent_when_it_cannot_know() {
    // No false positives: over `src_people` (built from VALUES) the columns
    // are unknown until DuckDB sees them, so compile passes and the run
    // reports the broken contract, as dbt would.
    let p = project(
        TABLE_OVER_VALUES,
        &GOOD.replace("data_type: int4", "data_type: varchar"),
    );
    let run = p.sluice(&["compile"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = p.sluice(&["run"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains(FAILED), "{}", run.stderr);

    // A seed's table keeps its columns when the file loses one (a reload
    // empties and refills it): what the warehouse holds wins over the file.
    p.write(
        "models/people_t.sql",
        "{{ config(materialized='table') }}\nselect * from {{ ref('people') }}\n",
    );
    set_yaml(
        &p,
        "- name: people_t\n  config:\n    contract: {enforced: true}\n  columns:\n    - name: id\n      data_type: integer\n    - name: name\n      data_type: varchar\n    - name: amount\n      data_type: double\n",
    );
    let run = p.sluice(&["build"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    p.write("seeds/people.csv", "id,name\n1,Ann\n");
    let run = p.sluice(&["run", "-s", "people_t"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
}

#[test]
fn contract_config_errors_stop_the_parse() {
    // Pins dbt's parse errors: every column of a contracted model needs a
    // data_type, and an ephemeral model cannot have an enforced contract.
    // Both are project errors (exit 2), at the YAML line.
    let p = project(
        TABLE_OVER_VALUES,
        "- name: people_t\n  config:\n    contract: {enforced: true}\n  columns:\n    - name: id\n      data_type: int\n    - name: name\n",
    );
    let run = p.sluice(&["compile"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("column `name` has no `data_type`"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("--> models/schema.yml:9:15"),
        "{}",
        run.stderr
    );
    p.write(
        "models/people_t.sql",
        "{{ config(materialized='ephemeral', contract={'enforced': true}) }}\nselect 1 as id\n",
    );
    set_yaml(
        &p,
        "- name: people_t\n  columns:\n    - name: id\n      data_type: int\n",
    );
    let run = p.sluice(&["compile"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("materialized `ephemeral`"),
        "{}",
        run.stderr
    );
    // A foreign key to a model that does not exist, as an unknown ref.
    p.write("models/people_t.sql", TABLE_OVER_VALUES);
    set_yaml(
        &p,
        "- name: people_t\n  columns:\n    - name: id\n      data_type: int\n      constraints:\n        - type: foreign_key\n          to: ref('nope')\n          to_columns: [id]\n",
    );
    let run = p.sluice(&["compile"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("points `to` `ref('nope')`, which does not exist"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("--> models/schema.yml:9:17"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_view_is_checked_and_its_constraints_are_not_enforced() {
    // Pins dbt's view contracts: names and types are checked, constraints
    // are not applied to a view, and dbt warns that they are not enforced.
    let p = project(
        "{{ config(materialized='view', contract={'enforced': true}) }}\nselect * from {{ ref('src_people') }}\n",
        &GOOD.replace("    contract: {enforced: true}\n", "    materialized: view\n"),
    );
    let run = p.sluice(&["run"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "warning: the `not_null` constraint on column `ID` of model `people_t` is not enforced"
        ),
        "{}",
        run.stderr
    );
    assert_eq!(rows(&p).len(), 3);
    p.write(
        "models/people_t.sql",
        "{{ config(materialized='view', contract={'enforced': true}) }}\nselect id::varchar as id, name, amount from {{ ref('src_people') }}\n",
    );
    let run = p.sluice(&["run"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("data type mismatch"), "{}", run.stderr);
    assert_eq!(rows(&p).len(), 3, "the old view is kept");
}

#[test]
fn an_incremental_model_keeps_its_constraints_across_runs() {
    // Pins dbt's incremental contracts: the first run builds the table with
    // its constraints; later runs check the contract again, and the
    // table's constraints reject bad new rows (the table is left as it was).
    let p = project(
        "{{ config(materialized='incremental') }}\nselect case when {{ var('bad', false) }} then null else id end as id, name, amount\nfrom {{ ref('src_people') }}\n{% if is_incremental() %}where id = 2{% endif %}\n",
        &GOOD.replace("  constraints:\n    - type: unique\n      columns: [name]\n", ""),
    );
    let run = p.sluice(&["run"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let before = rows(&p);
    let run = p.sluice(&["run", "--vars", "{bad: true}"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("NOT NULL constraint failed"),
        "{}",
        run.stderr
    );
    assert_eq!(rows(&p), before);
}

#[test]
fn a_foreign_key_references_its_parent_and_orders_the_build() {
    // Pins dbt 1.9's `foreign_key` with `to: ref(...)` and `to_columns`:
    // the parent is resolved to its relation, becomes a dependency, and
    // DuckDB enforces the reference. DuckDB cannot drop a referenced table,
    // so rebuilding the parent fails (as under dbt-duckdb), with a hint,
    // and keeps the old table.
    let p = project(TABLE_OVER_VALUES, GOOD);
    p.write(
        "models/kids.sql",
        "{{ config(materialized='table') }}\nselect 10 as kid_id, 1 as parent_id\n",
    );
    let yaml = p.read("models/schema.yml");
    p.write(
        "models/schema.yml",
        &format!("{yaml}  - name: kids\n    config:\n      contract: {{enforced: true}}\n    columns:\n      - name: kid_id\n        data_type: int\n      - name: parent_id\n        data_type: int\n        constraints:\n          - type: foreign_key\n            to: ref('people_t')\n            to_columns: [id]\n"),
    );
    let run = p.sluice(&["build"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        p.query("select count(*) from duckdb_constraints() where table_name = 'kids' and constraint_type = 'FOREIGN KEY'")[0][0]
            .as_deref(),
        Some("1")
    );
    let manifest: serde_json::Value =
        serde_json::from_str(&p.read("target/manifest.json")).unwrap();
    let kids = &manifest["nodes"]["model.contracts.kids"];
    assert_eq!(kids["depends_on"]["nodes"][0], "model.contracts.people_t");
    assert_eq!(
        kids["columns"]["parent_id"]["constraints"][0]["to"],
        "\"contracts\".\"main\".\"people_t\""
    );
    let before = rows(&p);
    let run = p.sluice(&["run", "-s", "people_t"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("hint: DuckDB cannot drop a table"),
        "{}",
        run.stderr
    );
    assert_eq!(rows(&p), before);
}

#[test]
fn a_project_level_contract_applies_and_needs_columns() {
    // Pins dbt's `+contract` in dbt_project.yml (merged into the model's
    // config) and dbt's "This model has an enforced contract, and its
    // 'columns' specification is missing" when the YAML declares none.
    let p = project(TABLE_OVER_VALUES, "- name: people_t\n");
    let project_yml = p.read("dbt_project.yml");
    p.write(
        "dbt_project.yml",
        &format!("{project_yml}\nmodels:\n  contracts:\n    people_t:\n      +contract:\n        enforced: true\n"),
    );
    let run = p.sluice(&["run"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "This model has an enforced contract, and its 'columns' specification is missing"
        ),
        "{}",
        run.stderr
    );
    assert!(
        done_line(&run.stderr).contains("PASS=1 WARN=0 ERROR=1"),
        "{}",
        run.stderr
    );
    // With the columns declared, the project-level contract holds.
    set_yaml(
        &p,
        &GOOD.replace("  config:\n    contract: {enforced: true}\n", ""),
    );
    let run = p.sluice(&["run"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let manifest: serde_json::Value =
        serde_json::from_str(&p.read("target/manifest.json")).unwrap();
    assert_eq!(
        manifest["nodes"]["model.contracts.people_t"]["contract"]["enforced"],
        true
    );
    // dbt's get_empty_schema_sql warns about a `numeric` without precision
    // and scale; sluice says so when compiling, at the YAML line.
    set_yaml(
        &p,
        &GOOD
            .replace("  config:\n    contract: {enforced: true}\n", "")
            .replace("numeric(4,2)", "numeric"),
    );
    let run = p.sluice(&["compile"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "warning: column `amount` of model `people_t` is `numeric` without precision and scale"
        ),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("--> models/schema.yml:"),
        "{}",
        run.stderr
    );
}

#[test]
fn compile_time_type_spellings_are_duckdbs() {
    // sluice's compile-time alias table must spell every type as DuckDB's
    // `describe` does (what dbt compares at run time), or a compile-time
    // check could disagree with the run.
    let conn = duckdb::Connection::open_in_memory().unwrap();
    for ty in [
        "int",
        "integer",
        "int4",
        "int32",
        "signed",
        "bigint",
        "int8",
        "int64",
        "long",
        "smallint",
        "int2",
        "int16",
        "short",
        "tinyint",
        "int1",
        "hugeint",
        "int128",
        "ubigint",
        "uint64",
        "uinteger",
        "uint32",
        "usmallint",
        "uint16",
        "utinyint",
        "uint8",
        "uhugeint",
        "uint128",
        "double",
        "float8",
        "double precision",
        "float",
        "float4",
        "real",
        "boolean",
        "bool",
        "logical",
        "date",
        "time",
        "timetz",
        "time with time zone",
        "timestamp",
        "datetime",
        "timestamptz",
        "timestamp with time zone",
        "timestamp_s",
        "timestamp_ms",
        "timestamp_ns",
        "interval",
        "uuid",
        "blob",
        "bytea",
        "binary",
        "varbinary",
        "varchar",
        "text",
        "string",
        "char",
        "bpchar",
        "nvarchar",
        "character varying",
        "varchar(20)",
        "decimal",
        "numeric(10)",
        "decimal(10,2)",
        "dec(38, 10)",
        "int[]",
        "text[]",
    ] {
        let mut stmt = conn
            .prepare(&format!("describe select cast(null as {ty}) as x"))
            .unwrap();
        let duckdb: String = stmt.query_row([], |r| r.get(1)).unwrap();
        assert_eq!(
            sluice::contract::types::normalize(ty).as_deref(),
            Some(duckdb.as_str()),
            "{ty}"
        );
    }
}

#[test]
fn compile_time_literal_types_are_duckdbs() {
    // The literals whose type sluice infers at compile time are typed as
    // DuckDB types them.
    let conn = duckdb::Connection::open_in_memory().unwrap();
    let known = sluice::contract::infer::KnownRelations::default();
    for literal in [
        "'a'",
        "true",
        "1",
        "2147483647",
        "2147483648",
        "9223372036854775807",
    ] {
        let sql = format!("select {literal} as x");
        let statements =
            sqlparser::parser::Parser::parse_sql(&sqlparser::dialect::DuckDbDialect {}, &sql)
                .unwrap();
        let inferred = sluice::contract::infer::output_columns(&statements, &known).unwrap();
        let mut stmt = conn.prepare(&format!("describe {sql}")).unwrap();
        let duckdb: String = stmt.query_row([], |r| r.get(1)).unwrap();
        assert_eq!(
            inferred[0].data_type.as_deref(),
            Some(duckdb.as_str()),
            "{literal}"
        );
    }
}

#[test]
fn a_snapshots_meta_columns_are_no_false_positive() {
    // No false positives: a snapshot's table has dbt's meta columns besides
    // what its SQL selects, so `select *` over it is not inferred from its SQL.
    let p = project(
        "{{ config(materialized='table') }}\nselect * from {{ ref('snap') }}\n",
        "- name: people_t
  config:
    contract: {enforced: true}
  columns:
    - {name: id, data_type: integer}
    - {name: name, data_type: varchar}
    - {name: amount, data_type: 'decimal(4,2)'}
    - {name: dbt_scd_id, data_type: varchar}
    - {name: dbt_updated_at, data_type: timestamp}
    - {name: dbt_valid_from, data_type: timestamp}
    - {name: dbt_valid_to, data_type: timestamp}
",
    );
    p.write(
        "snapshots/snap.sql",
        "{% snapshot snap %}\n{{ config(target_schema='snapshots', unique_key='id', strategy='check', check_cols='all') }}\nselect id, name, amount from {{ ref('src_people') }}\n{% endsnapshot %}\n",
    );
    let run = p.sluice(&["compile"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = p.sluice(&["build"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
}
