//! The functions and objects dbt puts in every template's context: `ref`,
//! `source`, `var`, `env_var`, `config`, `return`, `is_incremental`, `log`,
//! `print`, `exceptions`, `adapter`, the JSON/YAML helpers, and dbt's
//! `as_bool`/`as_number`/`as_text`/`as_native` filters.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use minijinja::value::{Kwargs, Object, ObjectRepr, Rest};
use minijinja::{Environment, Error, ErrorKind, State, Value};

use crate::error::{did_you_mean, Error as SluiceError, ErrorKind as SluiceKind};
use crate::project::config::Config;
use crate::render::call::{
    kwarg, relation_parts, run_statement, scope, warehouse, wrap, COMPILER_ERROR,
};
use crate::render::macros::RETURN_SLOT;
use crate::render::pycompat::python_value;
use crate::render::scope::{Phase, RefCall};
use crate::render::table::AgateTable;
use crate::warehouse::connection::Table;
use crate::warehouse::relation::{quote, Relation};

/// Registers every global function, object and filter on `env`.
///
/// `vars` are the values `var()` sees. `adapter.dispatch` finds macros
/// through the namespaces (see [`crate::render::namespace`]).
pub fn register(env: &mut Environment<'static>, vars: Arc<BTreeMap<String, Value>>) {
    env.add_function("ref", ref_fn);
    env.add_function("source", source_fn);
    let var_vars = vars.clone();
    env.add_function("var", move |state: &State, name: String, default: Option<Value>| -> Result<Value, Error> {
        if let Some(v) = scope(state, "var").ok().and_then(|s| s.resolver.var_overrides.get(&name).cloned()) {
            return Ok(python_value(Value::from_serialize(v)));
        }
        match (var_vars.get(&name), default) {
            (Some(v), _) => Ok(python_value(v.clone())),
            (None, Some(d)) => Ok(d),
            (None, None) => {
                let known: Vec<&str> = var_vars.keys().map(String::as_str).collect();
                let mut err = SluiceError::new(SluiceKind::Config, format!("required var `{name}` is not set"));
                err = match did_you_mean(&name, known) {
                    Some(s) => err.with_hint(format!("did you mean `{s}`? Otherwise set it under `vars:` in dbt_project.yml or pass --vars '{{{name}: ...}}'")),
                    None => err.with_hint(format!("set it under `vars:` in dbt_project.yml or pass --vars '{{{name}: ...}}'")),
                };
                Err(wrap(err))
            }
        }
    });
    env.add_function(
        "env_var",
        |state: &State, name: String, default: Option<Value>| -> Result<Value, Error> {
            match scope(state, "env_var")
                .ok()
                .and_then(|s| s.resolver.env_overrides.get(&name).cloned())
            {
                Some(v) => Ok(Value::from(v)),
                None => env_var_no_secrets(name, default),
            }
        },
    );
    env.add_global("config", Value::from_object(ConfigFn));
    // As dbt's `return`: the macro stops here and its call evaluates to the
    // value (dbt raises an exception that the macro call catches).
    env.add_function(
        "return",
        |state: &State, value: Option<Value>| -> Result<Value, Error> {
            state.set_temp(RETURN_SLOT, value.unwrap_or(Value::from(())));
            Err(Error::new(
                ErrorKind::InvalidOperation,
                crate::render::macros::RETURN_SIGNAL,
            ))
        },
    );
    env.add_function("is_incremental", |state: &State| -> Result<bool, Error> {
        let scope = scope(state, "is_incremental")?;
        if let Some(batch) = &scope.batch {
            return Ok(batch.incremental);
        }
        Ok(scope.phase == Phase::Compile && scope.resolver.incremental.contains(&scope.unique_id))
    });
    env.add_function(
        "log",
        |msg: Value, kwargs: Kwargs| -> Result<Value, Error> {
            let info: Option<bool> = kwargs.get("info")?;
            kwargs.assert_all_used()?;
            if info.unwrap_or(false) {
                eprintln!("{msg}");
            }
            Ok(Value::from(""))
        },
    );
    env.add_function("print", |msg: Value| {
        eprintln!("{msg}");
        Value::from("")
    });
    env.add_function("tojson", |v: Value| -> Result<Value, Error> {
        serde_json::to_string(&v)
            .map(Value::from)
            .map_err(|e| Error::new(ErrorKind::InvalidOperation, e.to_string()))
    });
    env.add_function(
        "fromjson",
        |s: String, default: Option<Value>| -> Result<Value, Error> {
            match serde_json::from_str::<serde_json::Value>(&s) {
                Ok(v) => Ok(python_value(Value::from_serialize(v))),
                Err(e) => default.ok_or_else(|| {
                    Error::new(ErrorKind::InvalidOperation, format!("fromjson: {e}"))
                }),
            }
        },
    );
    env.add_function("toyaml", |v: Value| -> Result<Value, Error> {
        serde_yaml::to_string(&v)
            .map(Value::from)
            .map_err(|e| Error::new(ErrorKind::InvalidOperation, e.to_string()))
    });
    env.add_function(
        "fromyaml",
        |s: String, default: Option<Value>| -> Result<Value, Error> {
            match serde_yaml::from_str::<serde_yaml::Value>(&s) {
                Ok(v) => Ok(python_value(Value::from_serialize(
                    crate::project::config::yaml_to_json(&v),
                ))),
                Err(e) => default.ok_or_else(|| {
                    Error::new(ErrorKind::InvalidOperation, format!("fromyaml: {e}"))
                }),
            }
        },
    );
    env.add_function("zip", |lists: Rest<Value>| -> Result<Value, Error> {
        let lists: Vec<Vec<Value>> = lists
            .iter()
            .map(|l| l.try_iter().map(|it| it.collect()))
            .collect::<Result<_, _>>()?;
        let n = lists.iter().map(Vec::len).min().unwrap_or(0);
        Ok(Value::from(
            (0..n)
                .map(|i| Value::from(lists.iter().map(|l| l[i].clone()).collect::<Vec<_>>()))
                .collect::<Vec<_>>(),
        ))
    });
    env.add_function(
        "store_result",
        |state: &State, name: String, kwargs: Kwargs| -> Result<Value, Error> {
            let response: Option<Value> = kwargs.get("response")?;
            let table: Option<Value> = kwargs.get("agate_table")?;
            kwargs.assert_all_used()?;
            let scope = scope(state, "store_result")?;
            let table = table.unwrap_or_else(|| Value::from_object(AgateTable::default()));
            let data: Vec<Value> = table.try_iter()?.collect();
            let result = Value::from_iter([
                ("response", response.unwrap_or(Value::from(()))),
                ("data", Value::from(data)),
                ("table", table),
            ]);
            if let Ok(mut results) = scope.results.lock() {
                results.insert(name, result);
            }
            Ok(Value::from(""))
        },
    );
    env.add_function(
        "load_result",
        |state: &State, name: String| -> Result<Value, Error> {
            let scope = scope(state, "load_result")?;
            let found = scope
                .results
                .lock()
                .ok()
                .and_then(|r| r.get(&name).cloned());
            Ok(found.unwrap_or(Value::from(())))
        },
    );
    env.add_function("load_relation", |state: &State, relation: Value| {
        crate::render::adapter::get_relation(state, &relation_parts(&relation)?)
    });
    env.add_global("exceptions", Value::from_object(Exceptions));
    env.add_global("adapter", Value::from_object(Adapter));
    crate::render::context::register(env);
    env.add_filter("as_bool", |v: Value| match v.as_str() {
        Some(s) => Value::from(matches!(
            s.trim().to_ascii_lowercase().as_str(),
            "true" | "1" | "yes"
        )),
        None => Value::from(v.is_true()),
    });
    env.add_filter("as_number", |v: Value| match v.as_str() {
        Some(s) => s
            .trim()
            .parse::<i64>()
            .map(Value::from)
            .or_else(|_| s.trim().parse::<f64>().map(Value::from))
            .unwrap_or(v),
        None => v,
    });
    env.add_filter("as_text", |v: Value| Value::from(v.to_string()));
    env.add_filter("as_native", |v: Value| v);
}

fn ref_fn(
    state: &State,
    first: String,
    second: Option<String>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    // `v=` / `version=` pin a model version (dbt 1.5); without, a
    // versioned model's latest version is meant.
    let v: Option<Value> = kwargs.get("v")?;
    let version: Option<Value> = kwargs.get("version")?;
    kwargs.assert_all_used()?;
    let scope = scope(state, "ref")?;
    let (package, name) = match second {
        Some(name) => (Some(first), name),
        None => (None, first),
    };
    let pinned = v
        .or(version)
        .filter(|v| !v.is_none() && !v.is_undefined())
        .map(|v| v.to_string());
    let call = match (pinned, scope.resolver.versions.get(&name)) {
        (Some(v), _) => RefCall {
            package,
            name: format!("{name}_v{v}"),
            version: Some((name, Some(v))),
        },
        (None, Some(latest)) => RefCall {
            package,
            name: latest.clone(),
            version: Some((name, None)),
        },
        (None, None) => RefCall {
            package,
            name,
            version: None,
        },
    };
    let resolver = &scope.resolver;
    let found = match &call.package {
        Some(pkg) => resolver.package_refs.get(&(pkg.clone(), call.name.clone())),
        None => resolver.refs.get(&call.name),
    };
    match scope.phase {
        Phase::Parse => {
            let rel = found.cloned().unwrap_or_else(|| Relation::new(&resolver.database, &resolver.schema, &call.name));
            scope.capture(|c| {
                if !c.refs.contains(&call) {
                    c.refs.push(call);
                }
            });
            Ok(Value::from_object(rel))
        }
        Phase::Compile => match found {
            Some(rel) => Ok(Value::from_object(scope.compiled(rel))),
            None => Err(wrap(SluiceError::new(
                SluiceKind::UnknownRef,
                format!("`{}` refers to `{}`, which was not found during parsing", scope.unique_id, call.name),
            )
            .with_hint("a ref inside `{% if execute %}` must also be reachable when parsing; add `-- depends_on: {{ ref('...') }}` to the model"))),
        },
    }
}

fn source_fn(state: &State, source: String, table: String) -> Result<Value, Error> {
    let scope = scope(state, "source")?;
    let key = (source, table);
    let found = scope.resolver.sources.get(&key).cloned();
    if scope.phase == Phase::Parse {
        scope.capture(|c| {
            if !c.sources.contains(&key) {
                c.sources.push(key.clone());
            }
        });
    }
    match found {
        Some(rel) if scope.phase == Phase::Compile => Ok(Value::from_object(scope.compiled(&rel))),
        Some(rel) => Ok(Value::from_object(rel)),
        None if scope.phase == Phase::Parse => Ok(Value::from_object(Relation::new(
            &scope.resolver.database,
            &key.0,
            &key.1,
        ))),
        None => Err(wrap(SluiceError::new(
            SluiceKind::UnknownSource,
            format!("source `{}.{}` was not found", key.0, key.1),
        ))),
    }
}

/// dbt's prefix of secret environment variables.
pub const SECRET_ENV_PREFIX: &str = "DBT_ENV_SECRET_";

/// `env_var` where dbt refuses secrets (models, macros, tests, hooks,
/// dbt_project.yml and schema YAML values): as [`env_var_fn`], but a
/// `DBT_ENV_SECRET_` variable is an error, so its value never reaches
/// compiled SQL, manifest.json, run_results.json or the docs site.
///
/// Errors: as [`env_var_fn`], and [`SluiceKind::Config`] for a secret.
pub fn env_var_no_secrets(name: String, default: Option<Value>) -> Result<Value, Error> {
    if name.starts_with(SECRET_ENV_PREFIX) {
        return Err(wrap(
            SluiceError::new(
                SluiceKind::Config,
                format!(
                    "secret environment variable `{name}` is used outside profiles.yml and packages.yml"
                ),
            )
            .with_hint(format!(
                "as dbt, `{SECRET_ENV_PREFIX}*` variables are allowed only in profiles.yml and packages.yml (so they never land in compiled SQL or artifacts); use a variable without the prefix here"
            )),
        ));
    }
    env_var_fn(name, default)
}

/// `env_var('NAME', default)`, as dbt: a missing variable without default
/// is an error. Secrets are allowed: this is the profiles.yml and
/// packages.yml version (see [`env_var_no_secrets`]).
pub fn env_var_fn(name: String, default: Option<Value>) -> Result<Value, Error> {
    match (std::env::var(&name), default) {
        (Ok(v), _) => Ok(Value::from(v)),
        (Err(_), Some(d)) => Ok(d),
        (Err(_), None) => Err(wrap(
            SluiceError::new(
                SluiceKind::Config,
                format!("environment variable `{name}` is required but not set"),
            )
            .with_hint(format!(
                "export {name}=..., or give a default: env_var('{name}', 'value')"
            )),
        )),
    }
}

/// The `config` object: `config(key=value)` sets node config while parsing;
/// `config.get(key, default)` and `config.require(key)` read it.
#[derive(Debug)]
struct ConfigFn;

impl fmt::Display for ConfigFn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<config>")
    }
}

impl Object for ConfigFn {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn call(self: &Arc<Self>, state: &State<'_, '_>, args: &[Value]) -> Result<Value, Error> {
        let scope = scope(state, "config")?;
        if scope.phase != Phase::Parse {
            return Ok(Value::from(""));
        }
        let mut layer = Config::default();
        for arg in args {
            if let Ok(kwargs) = Kwargs::try_from(arg.clone()) {
                for key in kwargs.args() {
                    let v: Value = kwargs.get(key)?;
                    layer.set(
                        key,
                        serde_json::to_value(&v).unwrap_or(serde_json::Value::Null),
                    );
                }
            } else if arg.kind() == minijinja::value::ValueKind::Map {
                for key in arg.try_iter()? {
                    let v = arg.get_item(&key)?;
                    layer.set(
                        &key.to_string(),
                        serde_json::to_value(&v).unwrap_or(serde_json::Value::Null),
                    );
                }
            } else {
                // As dbt's "Invalid inline model config": a bare value
                // names no config key.
                return Err(wrap(
                    SluiceError::new(
                        SluiceKind::Config,
                        format!("config() was given {arg}, which names no config key"),
                    )
                    .with_hint(
                        "pass keyword arguments, e.g. `config(materialized='table')`, or one dict",
                    ),
                ));
            }
        }
        scope.capture(|c| c.config.merge(&layer));
        Ok(Value::from(""))
    }

    fn call_method(
        self: &Arc<Self>,
        state: &State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        let scope = scope(state, "config")?;
        let key = args.first().and_then(Value::as_str).ok_or_else(|| {
            Error::new(
                ErrorKind::MissingArgument,
                format!("`config.{method}` needs a config name"),
            )
        })?;
        let value = scope.config_value(key).map(|v| Value::from_serialize(&v));
        match method {
            "get" => Ok(value.unwrap_or_else(|| args.get(1).cloned().unwrap_or(Value::from(())))),
            "require" => value.ok_or_else(|| {
                wrap(SluiceError::new(
                    SluiceKind::Config,
                    format!("config `{key}` is required by `{}`", scope.unique_id),
                ))
            }),
            _ => Err(Error::new(
                ErrorKind::UnknownMethod,
                format!("config has no method `{method}`"),
            )),
        }
    }
}

/// `exceptions.raise_compiler_error(msg)` and `exceptions.warn(msg)`.
#[derive(Debug)]
struct Exceptions;

impl fmt::Display for Exceptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<exceptions>")
    }
}

impl Object for Exceptions {
    fn call_method(
        self: &Arc<Self>,
        _state: &State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        let msg = args.first().map(|v| v.to_string()).unwrap_or_default();
        match method {
            "raise_compiler_error" => Err(Error::new(ErrorKind::InvalidOperation, COMPILER_ERROR)
                .with_source(SluiceError::new(SluiceKind::Jinja, msg))),
            "warn" => {
                eprintln!("warning: {msg}");
                Ok(Value::from(""))
            }
            _ => Err(Error::new(
                ErrorKind::UnknownMethod,
                format!("exceptions has no method `{method}`"),
            )),
        }
    }
}

/// The `adapter` object: `dispatch`, `quote`, `type`.
#[derive(Debug)]
struct Adapter;

impl fmt::Display for Adapter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<adapter>")
    }
}

impl Object for Adapter {
    fn call_method(
        self: &Arc<Self>,
        state: &State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        let arg = |i: usize| args.get(i).and_then(Value::as_str).map(str::to_owned);
        match method {
            // As dbt's adapter.dispatch: `<adapter>__name`, then `default__name`.
            "dispatch" => {
                let name = arg(0).ok_or_else(|| {
                    Error::new(
                        ErrorKind::MissingArgument,
                        "`adapter.dispatch` needs a macro name",
                    )
                })?;
                let name = name.rsplit('.').next().unwrap_or(&name).to_owned();
                let namespace = kwarg(args, "macro_namespace", 1)
                    .filter(|v| !v.is_none())
                    .and_then(|v| v.as_str().map(str::to_owned));
                crate::render::namespace::dispatch(state, &name, namespace.as_deref())
            }
            "quote" => Ok(Value::from(quote(&arg(0).unwrap_or_default()))),
            // As dbt's adapter.execute: returns (response, table); the table is
            // empty unless `fetch` is true.
            "execute" => {
                let sql = arg(0).ok_or_else(|| {
                    Error::new(ErrorKind::MissingArgument, "`adapter.execute` needs SQL")
                })?;
                let fetch = kwarg(args, "fetch", 2).is_some_and(|v| v.is_true());
                let (response, table) = match warehouse(state) {
                    None => ("OK".to_owned(), Table::default()),
                    Some(conn) => run_statement(&conn, &sql, fetch)?,
                };
                let rows = table.rows.len();
                Ok(Value::from(vec![
                    Value::from_iter([
                        ("_message", Value::from(response.clone())),
                        ("code", Value::from(response)),
                        ("rows_affected", Value::from(rows)),
                    ]),
                    Value::from_object(AgateTable::new(&table)),
                ]))
            }
            // The target's `type`, as dbt's `adapter.type()`.
            "type" => Ok(Value::from(crate::render::adapter::adapter_type(state))),
            _ => crate::render::adapter::call_method(state, method, args).unwrap_or_else(|| {
                Err(Error::new(
                    ErrorKind::UnknownMethod,
                    format!("adapter has no method `{method}`"),
                ))
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_yaml_and_vars_are_python_lists_and_dicts() {
        // As dbt: `fromjson`, `fromyaml` and `var()` give Python lists and
        // dicts, which macros `append` to and `update`.
        let mut env = Environment::new();
        env.set_unknown_method_callback(crate::render::pycompat::unknown_method);
        let vars = BTreeMap::from([(
            "cols".to_owned(),
            Value::from_serialize(serde_json::json!(["a"])),
        )]);
        register(&mut env, Arc::new(vars));
        let out = env
            .render_str(
                "{% set j = fromjson('{\"k\": [1]}') %}{% do j.k.append(2) %}{% do j.update({'m': 3}) %}\
                 {% set y = fromyaml('- x') %}{% do y.append('z') %}\
                 {% set c = var('cols') %}{% do c.append('b') %}{{ j }}|{{ y }}|{{ c }}",
                (),
            )
            .unwrap();
        assert_eq!(out, "{'k': [1, 2], 'm': 3}|['x', 'z']|['a', 'b']");
    }
}
