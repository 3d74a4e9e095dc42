select {{ default__snapshot_get_time() }} as v
