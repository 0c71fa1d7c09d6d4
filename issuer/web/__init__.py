"""The web edge: FastAPI app, routes per audience, templates. Thin: routes call services."""
