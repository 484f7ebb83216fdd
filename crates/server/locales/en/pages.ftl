# The other couple-facing pages (issue 15): unsubscribe and welcome. English.
language-name = English
unsubscribe-invalid-heading = This link is not valid
unsubscribe-invalid-body = We could not find an invitation sent with this unsubscribe link. Please use the link from the email itself.
unsubscribe-done-heading = You are unsubscribed
unsubscribe-done-body = No invitation or recommendation will reach you through Bouquet again.
unsubscribe-ask-heading = Unsubscribe from invitations?
unsubscribe-ask-body = You will receive no more invitations or recommendations from anyone through Bouquet.
unsubscribe-button = Unsubscribe from all invitations and recommendations
unsubscribe-note = Suppliers you already work with can still write to you directly.
welcome-title = You're in
welcome-heading = Thank you — you're in!
welcome-lede = We've saved your details. Look out for an email to finish setting up your wedding planning.
