select
    {{ get_powers_of_two(1) }} as p1,
    {{ get_powers_of_two(2) }} as p2,
    {{ get_powers_of_two(3) }} as p3,
    {{ get_powers_of_two(1024) }} as p1024,
    {{ get_powers_of_two(1025) }} as p1025
