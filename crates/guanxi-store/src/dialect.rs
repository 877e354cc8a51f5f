//! The SQL that differs between SQLite and PostgreSQL, in one place. Everything else is
//! built by sea-query for either engine; these helpers cover what it does not express:
//! hand-written statements with placeholders, Shanghai period buckets, JSON members and
//! plans.

use guanxi_domain::activity::field::Granularity;
use sea_orm::DbBackend;
use sea_orm::sea_query::Expr;

/// A hand-written statement with `?` placeholders, numbered `$1, $2, …` for PostgreSQL.
/// Values are always bound, never spliced into the text.
pub fn raw_statement(
    backend: DbBackend,
    sql: &str,
    values: impl IntoIterator<Item = sea_orm::Value>,
) -> sea_orm::Statement {
    let text = match backend {
        DbBackend::Postgres => {
            let mut out = String::with_capacity(sql.len() + 8);
            let mut n = 0;
            for c in sql.chars() {
                if c == '?' {
                    n += 1;
                    out.push('$');
                    out.push_str(&n.to_string());
                } else {
                    out.push(c);
                }
            }
            out
        }
        _ => sql.to_owned(),
    };
    sea_orm::Statement::from_sql_and_values(backend, text, values)
}

/// A fragment with `?` placeholders for `Expr::cust_with_values`, whose PostgreSQL
/// builder numbers `$` placeholders itself.
pub fn fragment(backend: DbBackend, template: &str) -> String {
    match backend {
        DbBackend::Postgres => template.replace('?', "$"),
        _ => template.to_owned(),
    }
}

/// SQL for the first day (`YYYY-MM-DD`, Shanghai time, UTC+8) of the day, ISO week
/// (from Monday), month or year that the timestamp `column` falls in, as
/// [`guanxi_domain::activity::field::period_of`] draws them. Reports group by it, so the
/// database counts and only one row per period comes back.
pub fn period_start_sql(backend: DbBackend, granularity: Granularity, column: &str) -> String {
    match backend {
        DbBackend::Postgres => {
            let unit = trunc_unit(granularity);
            format!("to_char(date_trunc('{unit}', ({column} AT TIME ZONE 'UTC') + INTERVAL '8 hours'), 'YYYY-MM-DD')")
        }
        _ => match granularity {
            Granularity::Day => format!("date({column}, '+8 hours')"),
            Granularity::Week => format!("date({column}, '+8 hours', 'weekday 0', '-6 days')"),
            Granularity::Month => format!("strftime('%Y-%m-01', {column}, '+8 hours')"),
            Granularity::Quarter => quarter_start_sqlite(&format!("{column}, '+8 hours'")),
            Granularity::Year => format!("strftime('%Y-01-01', {column}, '+8 hours')"),
        },
    }
}

/// The nil UUID as a literal (the stored counts' "nobody"), to compare or `NULLIF` with.
pub fn nil_uuid_sql(backend: DbBackend) -> &'static str {
    match backend {
        DbBackend::Postgres => "CAST('00000000-0000-0000-0000-000000000000' AS uuid)",
        _ => "X'00000000000000000000000000000000'",
    }
}

/// PostgreSQL's `date_trunc` unit of a granularity.
fn trunc_unit(granularity: Granularity) -> &'static str {
    match granularity {
        Granularity::Day => "day",
        Granularity::Week => "week",
        Granularity::Month => "month",
        Granularity::Quarter => "quarter",
        Granularity::Year => "year",
    }
}

/// SQLite's first day of the quarter of `time` (a column and its modifiers): the year,
/// and the month rounded down to 1, 4, 7 or 10; NULL for no time.
fn quarter_start_sqlite(time: &str) -> String {
    format!(
        "CASE WHEN strftime('%Y', {time}) IS NULL THEN NULL ELSE printf('%s-%02d-01', strftime('%Y', {time}), \
         (CAST(strftime('%m', {time}) AS INTEGER) - 1) / 3 * 3 + 1) END"
    )
}

/// [`period_start_sql`] for a DATE column (a Shanghai day already): the first day of its
/// week, month or year.
pub fn day_period_start_sql(backend: DbBackend, granularity: Granularity, column: &str) -> String {
    match backend {
        DbBackend::Postgres => {
            let unit = trunc_unit(granularity);
            format!("to_char(date_trunc('{unit}', CAST({column} AS TIMESTAMP)), 'YYYY-MM-DD')")
        }
        _ => match granularity {
            Granularity::Day => format!("date({column})"),
            Granularity::Week => format!("date({column}, 'weekday 0', '-6 days')"),
            Granularity::Month => format!("strftime('%Y-%m-01', {column})"),
            Granularity::Quarter => quarter_start_sqlite(column),
            Granularity::Year => format!("strftime('%Y-01-01', {column})"),
        },
    }
}

/// The text of member `key` of the JSON object in `table.column`. `key` is a checked
/// custom-field key (letters, digits and underscores), never free text.
pub fn json_text(backend: DbBackend, table: &str, column: &str, key: &str) -> Expr {
    match backend {
        DbBackend::Postgres => Expr::cust(format!("(\"{table}\".\"{column}\" ->> '{key}')")),
        _ => Expr::cust(format!("json_extract(\"{table}\".\"{column}\", '$.{key}')")),
    }
}

/// "The JSON array in `table.column` holds the text `value`".
pub fn json_array_contains(backend: DbBackend, table: &str, column: &str, value: String) -> Expr {
    let sql = match backend {
        DbBackend::Postgres => {
            format!(
                "EXISTS (SELECT 1 FROM jsonb_array_elements_text(\"{table}\".\"{column}\") AS t(value) WHERE t.value = $)"
            )
        }
        _ => format!("EXISTS (SELECT 1 FROM json_each(\"{table}\".\"{column}\") WHERE json_each.value = ?)"),
    };
    Expr::cust_with_values(sql, [value])
}

/// How to ask the engine for a statement's plan: the prefix, and the column of the
/// answer that holds the plan's lines.
pub fn explain(backend: DbBackend) -> (&'static str, &'static str) {
    match backend {
        DbBackend::Postgres => ("EXPLAIN ", "QUERY PLAN"),
        _ => ("EXPLAIN QUERY PLAN ", "detail"),
    }
}

/// SQL for the month and day (`MM-DD`) of the date `column`.
pub fn month_day_sql(backend: DbBackend, column: &str) -> String {
    match backend {
        DbBackend::Postgres => format!("to_char({column}, 'MM-DD')"),
        _ => format!("strftime('%m-%d', {column})"),
    }
}

/// SQL for the seconds from the timestamp `earlier` to the timestamp `later` (columns).
pub fn seconds_between(backend: DbBackend, later: &str, earlier: &str) -> String {
    match backend {
        DbBackend::Postgres => format!("EXTRACT(EPOCH FROM ({later} - {earlier}))"),
        _ => format!("((julianday({later}) - julianday({earlier})) * 86400.0)"),
    }
}
