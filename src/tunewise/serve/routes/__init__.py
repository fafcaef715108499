"""The API's routers, one per concern; ``tunewise.serve.app`` includes them in this order: health, classify,
chat, feedback, dashboard (the order ``supported_routes`` lists them in 404 messages)."""
