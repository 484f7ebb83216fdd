# Las otras páginas para las parejas (issue 15): darse de baja y bienvenida. Español.
language-name = Español
unsubscribe-invalid-heading = Este enlace no es válido
unsubscribe-invalid-body = No hemos encontrado ninguna invitación enviada con este enlace para darte de baja. Usa el enlace del propio correo.
unsubscribe-done-heading = Te has dado de baja
unsubscribe-done-body = Ya no te llegará ninguna invitación ni recomendación a través de Bouquet.
unsubscribe-ask-heading = ¿Darte de baja de las invitaciones?
unsubscribe-ask-body = No recibirás más invitaciones ni recomendaciones de nadie a través de Bouquet.
unsubscribe-button = Darme de baja de todas las invitaciones y recomendaciones
unsubscribe-note = Los proveedores con los que ya trabajas pueden seguir escribiéndote directamente.
welcome-title = Ya estás dentro
welcome-heading = ¡Gracias, ya estás dentro!
welcome-lede = Hemos guardado tus datos. Te llegará un correo para terminar de preparar la organización de tu boda.
