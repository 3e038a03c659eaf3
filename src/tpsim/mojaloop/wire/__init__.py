"""The wire: headers, media types, routes and pydantic models of FSPIOP and Third Party bodies."""
