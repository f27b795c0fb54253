"""parsers/formats"""
