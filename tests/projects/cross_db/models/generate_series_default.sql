{{ default__generate_series(10) }}
