select x from (values (1), (2), (2)) t(x)
{{ intersect() }}
select x from (values (2), (3)) u(x)
