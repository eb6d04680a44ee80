"""Server-rendered pages (GOV.UK Design System) for the people who use the hub."""
