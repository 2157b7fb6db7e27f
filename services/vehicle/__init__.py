"""vehicle"""
