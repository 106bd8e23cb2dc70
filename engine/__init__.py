"""The rosette generator, its feasibility scorer, the catalog, the resolver and the search loop.

Plain Python: nothing in this package imports Django, so it can be tested and benchmarked alone.
The Django apps feed it plain data (profile specs, rule data, catalog path) and record results.
"""
