"""logger"""
