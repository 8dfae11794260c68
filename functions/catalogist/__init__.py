"""Catalogist's function bundle: vendor photos and price lists in, categorized and priced products
out. The entry points (functions/main.py) build everything through `wiring`; `settings` is the
one reader of the environment, `ports` the seams to the cloud, `errors` the error tree."""
