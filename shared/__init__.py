"""Platform code shared by every Archipel service. It never imports `services`."""
