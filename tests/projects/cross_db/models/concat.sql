select {{ concat(["'a'", "'b'", "'c'"]) }} as v
