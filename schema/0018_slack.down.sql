DROP TABLE slack_messages;
DROP TABLE slack_link_tokens;
DROP TABLE slack_users;
