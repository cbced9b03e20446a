DROP TABLE mail_links_used;
