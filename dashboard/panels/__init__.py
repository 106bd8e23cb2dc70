"""The dashboard's panels: each parses its part of the address, reads through the apps' selectors and shapes rows for its template."""
