"""contact_point"""
