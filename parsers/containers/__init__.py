"""parsers/containers"""
