select
    {{ current_timestamp() }} as now_tz,
    {{ current_timestamp_backcompat() }} as now_naive,
    {{ current_timestamp_in_utc_backcompat() }} as now_utc,
    {{ snapshot_get_time() }} as snapshot_time
