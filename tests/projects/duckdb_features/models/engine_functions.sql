-- Functions of DuckDB's ICU and JSON extensions, which are built into sluice.
select
    current_date is not null as has_current_date,
    now() is not null as has_now,
    current_setting('TimeZone') as session_time_zone,
    (timestamptz '2024-01-01 12:00:00+00' at time zone 'America/New_York')::varchar as new_york,
    '{"a": {"b": 7}}'::json ->> '$.a.b' as json_b,
    json_array_length('[1, 2, 3]') as json_len,
    ('b' collate de) < ('c' collate de) as collated
