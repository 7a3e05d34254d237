"""The domain core: activity forms and their parsers, reporting periods and round ids,
settings, the message model and the message catalogue.

Everything else imports from here; nothing here imports bot/, handlers/, scheduler/,
templates/ or storage/.
"""
