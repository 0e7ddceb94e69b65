"""The ingest process: records every camera in service into sealed, indexed segments."""
