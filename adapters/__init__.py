"""Agency adapters: one package per agency kind (courts, prison, probation, iom, provider), each
turning that agency's native documents into canonical messages and back. They depend only on the
canonical message types in `hub.domain`, never on Flask or the database."""
