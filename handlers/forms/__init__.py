"""Activity forms as data (activities.toml) and the parsers their fields use."""
