select x from (values (1), (2), (3), (3)) t(x)
{{ except() }}
select x from (values (2)) u(x)
