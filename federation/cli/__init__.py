"""The `prum` command line (typer, rich): `app.py` is the app and registers its sub-apps; they and the app share
`common.py` and never import `app.py`. The top layer: it may import the runtimes and the load tests."""
