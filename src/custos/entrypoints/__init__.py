"""The doors into Custos: the command line (``cli/``, one click group per file), the timed workers
(``workers/``) and the server that runs the API, the web UI, the workers and the recorder
(``server.py``). They build their settings and container through :mod:`custos.bootstrap`."""
