"""The web workspace: server-rendered pages for coordinators and focal points on the
same aiohttp backend as the webhooks (routes in `routes`, templates in templates/web/)."""
