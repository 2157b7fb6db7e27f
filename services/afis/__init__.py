"""afis"""
