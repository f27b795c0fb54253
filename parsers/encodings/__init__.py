"""parsers/encodings"""
